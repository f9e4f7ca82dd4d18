-- matchd schema v7: instruments added at runtime, and the trading status of each instrument
-- (docs/api.md, Instruments).
--
-- Adding an instrument, halting and resuming one are engine commands with a sequence number
-- of their own; the writer commits their rows in the transaction of the group they belong to,
-- before they are acknowledged, and recovery restores them before the books open.

-- Instruments added by POST /admin/instruments, in the order they were added (by sequence).
-- `definition` is the instrument object as GET /instruments shows it, the same text the
-- admin route accepts. Those given by --instrument are not here: the flags define them.
CREATE TABLE instruments (
  symbol       text   PRIMARY KEY,
  definition   text   NOT NULL,
  sequence     bigint NOT NULL,  -- the command that added it
  added_at_us  bigint NOT NULL
);

-- The status of any instrument, configured or added. No row: trading. Rows of instruments
-- no longer configured are kept and ignored.
CREATE TABLE instrument_status (
  symbol          text   PRIMARY KEY,
  status          text   NOT NULL CHECK (status IN ('trading', 'halted')),
  sequence        bigint NOT NULL,  -- the halt or resume that set it
  updated_at_us   bigint NOT NULL
);
