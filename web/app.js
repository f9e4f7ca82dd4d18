// matchd's web client: the venue's own API (docs/api.md) and nothing else, no build step.
//
// One WebSocket carries the live views (book, trades, candles, ticker, and with a client
// named, its orders and positions); REST loads what a stream does not replay (candle history,
// open orders, positions, the history form) and places, cancels and amends orders. Messages
// only change state and mark what they touched; drawing happens at most ten times a second,
// in animation frames, so a fast market costs a few redraws, not one per message.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const TAPE_ROWS = 20;
  const BOOK_LEVELS = 15;
  const HISTORY_ROWS = 200;

  const state = {
    key: sessionStorage.getItem('matchd.key') || '',
    client: sessionStorage.getItem('matchd.client') || '',
    instruments: [],
    symbol: null,
    interval: '1m',
    // The book as the snapshot and the deltas after it left it (newBook, below).
    book: null,
    tape: [], // newest first
    ticker: null,
    orders: new Map(), // order_id -> order, open ones only
    positions: new Map(), // instrument -> position
    // The candle updates since the last draw, the latest of each bar: a draw can come after a
    // bar's last update and the next bar's first.
    pendingBars: new Map(),
    amend: null, // {id, price, quantity}: the open order being amended, as typed so far
  };

  // ---- the book ------------------------------------------------------------------------
  // One side's levels, best first, kept sorted as deltas come (a binary search and a splice
  // per new or emptied level), so drawing the top of a deep book never sorts it: a busy
  // market leaves tens of thousands of levels on each side.
  class BookSide {
    constructor(bids) {
      this.bids = bids;
      this.levels = []; // {p, price, q, text, decimals}, best first
      this.byPrice = new Map(); // price text -> level
    }
    // The index of price p, or where it would go.
    find(p) {
      let lo = 0;
      let hi = this.levels.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const x = this.levels[mid].p;
        if (this.bids ? x > p : x < p) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    // A level's new total: `quantity` zero removes it.
    set(l) {
      const q = parseFloat(l.quantity);
      const known = this.byPrice.get(l.price);
      if (q === 0) {
        if (!known) return;
        this.byPrice.delete(l.price);
        this.levels.splice(this.find(known.p), 1);
        return;
      }
      if (known) {
        known.q = q;
        known.text = l.quantity;
        return;
      }
      const level = { p: parseFloat(l.price), price: l.price, q, text: l.quantity, decimals: decimalsOf(l.quantity) };
      this.byPrice.set(l.price, level);
      this.levels.splice(this.find(level.p), 0, level);
    }
  }
  function newBook(ready, sequence = 0) {
    return { ready, sequence, bids: new BookSide(true), asks: new BookSide(false) };
  }
  state.book = newBook(false);

  // ---- drawing, coalesced to animation frames ------------------------------------------
  // At most one draw every DRAW_INTERVAL_MS: a person reads a book no faster, and each draw
  // costs the browser style, layout and paint for what it touches (the most of a page's time
  // under a fast market, far more than the messages' own code). A draw is spread over
  // consecutive animation frames, one of the panels that change most (the book, the tape, the
  // chart) in each, so that no single task does them all: on a machine whose cores are busy,
  // the longer a task, the longer it waits for a core in the middle of it.
  const DRAW_INTERVAL_MS = 100;
  const ONE_PER_FRAME = new Set(['book', 'tape', 'bar']);
  const dirty = new Set();
  let drawing = null; // what the draw under way has yet to paint
  let scheduled = false;
  let lastDraw = 0;
  function mark(what) {
    dirty.add(what);
    if (!scheduled) schedule();
  }
  function schedule() {
    scheduled = true;
    const wait = Math.max(0, lastDraw + DRAW_INTERVAL_MS - performance.now());
    setTimeout(() => requestAnimationFrame(draw), wait);
  }
  function draw(now) {
    if (!drawing) {
      // What changes while a draw is under way waits for the next one. The chart is given its
      // bar last: the library draws it in the frame after, which then holds nothing else.
      drawing = new Set([...dirty].sort((a, b) => (a === 'bar') - (b === 'bar')));
      dirty.clear();
      lastDraw = now;
    }
    let panel = false;
    try {
      for (const what of drawing) {
        if (ONE_PER_FRAME.has(what)) {
          if (panel) continue;
          panel = true;
        }
        drawing.delete(what);
        painters[what]();
      }
    } finally {
      // A painter that throws is reported as any error is, and drawing goes on.
      if (drawing.size) {
        requestAnimationFrame(draw);
      } else {
        drawing = null;
        scheduled = false;
        if (dirty.size) schedule();
      }
    }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
    return e;
  }
  const time = (iso) => (iso ? iso.slice(11, 19) : '');
  // The book and the tape have a fixed number of rows, made once, and a draw changes only the
  // text that changed: ten draws a second of fresh rows would cost the browser new nodes, style
  // and layout each time, and a table that grew when the market woke up would move the whole
  // page under the trader's eyes (and cost one long task as it did).
  function makeRows(tbody, n, cells) {
    for (let r = 0; r < n; r += 1) {
      const tr = tbody.insertRow();
      for (let c = 0; c < cells; c += 1) tr.insertCell().append(document.createTextNode(''));
    }
    return tbody.rows;
  }
  // A row with nothing to show keeps its place, empty.
  function clearRow(tr) {
    if (!tr.dataset.price && !tr.className && !tr.cells[0].firstChild.data) return;
    delete tr.dataset.price;
    tr.className = '';
    tr.share = 0;
    tr.style.backgroundImage = '';
    for (const td of tr.cells) setText(td, '');
  }
  // A cell's text is changed in its text node: setting textContent would put a new node in
  // each time (thousands a second under a fast market), garbage for the collector.
  function setText(node, text) {
    const t = node.firstChild;
    if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) {
      if (t.data !== text) t.data = text;
    } else if (node.textContent !== text) {
      node.textContent = text;
    }
  }

  const askRows = makeRows($('asks'), BOOK_LEVELS, 3);
  const bidRows = makeRows($('bids'), BOOK_LEVELS, 3);
  const tapeRows = makeRows($('tape'), TAPE_ROWS, 3);
  const painters = {
    book() {
      const b = state.book;
      const bids = b.bids.levels.slice(0, BOOK_LEVELS);
      const asks = b.asks.levels.slice(0, BOOK_LEVELS);
      const paint = (rows, levels, side) => {
        const color = side === 'buy' ? 'rgba(38,162,105,.18)' : 'rgba(229,72,77,.18)';
        let most = 0;
        for (const l of levels) most += l.q;
        most = most || 1;
        let total = 0;
        for (let i = 0; i < BOOK_LEVELS; i += 1) {
          // Asks are listed best last, next to the spread.
          const tr = rows[side === 'sell' ? BOOK_LEVELS - 1 - i : i];
          const l = levels[i];
          if (!l) {
            clearRow(tr);
            continue;
          }
          total += l.q;
          if (tr.dataset.price !== l.price) tr.dataset.price = l.price;
          setText(tr.cells[0], l.price);
          setText(tr.cells[1], l.text);
          setText(tr.cells[2], total.toFixed(l.decimals));
          const share = Math.round((total / most) * 100);
          if (tr.share !== share) {
            tr.share = share;
            tr.style.backgroundImage = `linear-gradient(to left, ${color} ${share}%, transparent ${share}%)`;
          }
        }
      };
      paint(askRows, asks, 'sell');
      paint(bidRows, bids, 'buy');
      setText($('spread-cell'),
        bids.length && asks.length ? `spread ${(asks[0].p - bids[0].p).toFixed(priceDecimals())}` : '–');
    },
    tape() {
      for (let i = 0; i < TAPE_ROWS; i += 1) {
        const tr = tapeRows[i];
        const t = state.tape[i];
        if (!t) {
          clearRow(tr);
          continue;
        }
        if (tr.className !== t.aggressor_side) tr.className = t.aggressor_side;
        setText(tr.cells[0], time(t.timestamp));
        setText(tr.cells[1], t.price);
        setText(tr.cells[2], t.quantity);
      }
    },
    ticker() {
      const t = state.ticker || {};
      for (const b of document.querySelectorAll('#ticker [data-t]')) {
        const v = t[b.dataset.t];
        setText(b, v == null ? '–' : b.dataset.t === 'price_change_percent' ? `${v}%` : String(v));
      }
    },
    orders() {
      // While an amend is being typed, the table stays as it is (redrawing would take the
      // focus from the field); it is drawn again when the amend is saved or left.
      if (state.amend && state.orders.has(state.amend.id) && $('orders').querySelector('tr.amending')) return;
      const rows = [...state.orders.values()]
        .filter((o) => o.instrument === state.symbol)
        .sort((a, b) => b.sequence - a.sequence)
        .map((o) => (state.amend?.id === o.order_id ? amendRow(o) : orderRow(o)));
      $('orders').replaceChildren(...rows);
    },
    positions() {
      $('positions').replaceChildren(
        ...[...state.positions.values()].map((p) =>
          el('tr', { 'data-instrument': p.instrument },
            el('td', {}, p.instrument), el('td', {}, p.base_position), el('td', {}, p.average_entry_price ?? '–'),
            el('td', {}, p.mark_price ?? '–'), el('td', {}, p.realized_pnl), el('td', {}, p.unrealized_pnl), el('td', {}, p.fees))));
    },
    bar() {
      const bars = [...state.pendingBars.values()].sort((a, b) => a.time - b.time);
      state.pendingBars.clear();
      for (const bar of bars) {
        // A bar of the interval and instrument shown, not older than the chart's last: one that
        // came just before a switch, or before the history it predates, is dropped.
        if (!chart.series || bar.interval !== state.interval || bar.symbol !== state.symbol) continue;
        const last = chart.series.data().at(-1);
        if (last && bar.time < last.time) continue;
        chart.series.update(bar);
      }
    },
    connection() {},
  };

  // ---- errors next to the field they concern -------------------------------------------
  const fieldOf = {
    unauthorized: 'key', invalid_client_id: 'client', forbidden: 'client',
    invalid_price: 'price', invalid_price_tick: 'price', price_out_of_range: 'price', price_not_allowed: 'price',
    price_out_of_band: 'price', invalid_quantity: 'quantity', invalid_quantity_lot: 'quantity',
    quantity_out_of_range: 'quantity', notional_too_large: 'quantity', invalid_time_in_force: 'tif',
  };
  function showError(form, field, message) {
    const slot = document.querySelector(`#${form} .field-error[data-for="${field}"], .field-error[data-for="${field}"]`);
    if (slot) slot.textContent = message;
  }
  function clearErrors(root) {
    for (const e of root.querySelectorAll('.field-error')) e.textContent = '';
  }
  function describe(err) {
    return err.status === 401 ? `401: ${err.message || 'a valid API key is needed'}` : `${err.code || err.status}: ${err.message}`;
  }

  // ---- REST ----------------------------------------------------------------------------
  async function api(method, path, body) {
    const headers = {};
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!r.ok) {
      const e = new Error(json?.error?.message || r.statusText);
      e.status = r.status;
      e.code = json?.error?.code;
      throw e;
    }
    return json;
  }

  const instrument = () => state.instruments.find((i) => i.symbol === state.symbol) || {};
  const decimalsOf = (text) => (text && text.includes('.') ? text.split('.')[1].length : 0);
  const priceDecimals = () => decimalsOf(instrument().tick_size);

  // ---- the stream ----------------------------------------------------------------------
  const stream = {
    ws: null,
    dropped: false,
    received: 0, // messages, for the load measurement (load-test/web-page-bench.sh)
    frames: 0, // WebSocket messages (arrays of messages) that carried them
    drops: 0, // connections lost (a reconnect follows each)
    attempt: 0,
    timer: 0,
    connect() {
      clearTimeout(this.timer);
      setConnection('connecting');
      // Batched and paced: each WebSocket message is an array of everything that came in the
      // last tenth of a second (the page draws no more often; an array is sealed at 64 KiB),
      // so a busy market costs the browser tens of messages a second, not thousands.
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/stream?batch=true&batch_interval_ms=${DRAW_INTERVAL_MS}`);
      this.ws = ws;
      ws.onopen = () => {
        this.attempt = 0;
        setConnection('live');
        this.subscribe();
        // Back after a drop: what the streams carried meanwhile is lost, so what they do not
        // replay is read again (the book comes back whole as a snapshot).
        if (this.dropped) {
          this.dropped = false;
          reloadAfterGap();
        }
      };
      ws.onmessage = (ev) => {
        const batch = JSON.parse(ev.data);
        this.frames += 1;
        this.received += batch.length;
        for (const message of batch) onMessage(message);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return; // replaced on purpose
        this.ws = null;
        this.retry();
      };
    },
    retry() {
      this.dropped = true;
      this.drops += 1;
      // Exponential backoff with jitter, 0.5 s doubling to 10 s.
      const delay = Math.min(10000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setConnection('reconnecting', delay);
      this.timer = setTimeout(() => this.connect(), delay);
    },
    send(message) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    },
    subscribe() {
      state.book = newBook(false);
      mark('book');
      if (state.key) this.send({ op: 'auth', req_id: 'auth', key: state.key });
      this.send({
        op: 'subscribe', req_id: 'market', instrument: state.symbol,
        channels: ['orderbook_deltas', 'trades', 'candles', 'ticker'], interval: state.interval,
      });
      if (state.client) {
        this.send({ op: 'subscribe', req_id: 'private', instrument: state.symbol, client_id: state.client, channels: ['orders', 'positions'] });
      }
    },
    // A new instrument, interval, key or client: a fresh connection, so nothing of the old
    // subscriptions can arrive after the new ones' snapshots.
    restart() {
      const old = this.ws;
      this.ws = null;
      if (old) old.close();
      this.attempt = 0;
      this.connect();
    },
  };
  window.matchdStream = stream; // for the browser tests

  function setConnection(what, delay) {
    const c = $('connection');
    c.dataset.state = what;
    c.textContent = what === 'reconnecting' ? `reconnecting in ${(delay / 1000).toFixed(1)} s` : what;
  }

  function onMessage(m) {
    if (m.type) return onReply(m);
    if (m.instrument && m.instrument !== state.symbol) return;
    const d = m.data;
    switch (m.channel) {
      case 'orderbook_snapshot': {
        const b = newBook(true, m.sequence);
        for (const l of d.bids) b.bids.set(l);
        for (const l of d.asks) b.asks.set(l);
        state.book = b;
        mark('book');
        break;
      }
      case 'orderbook_deltas': {
        const b = state.book;
        if (!b.ready) return;
        // Sequences only grow on one connection; anything else means a lost step: take a
        // new snapshot rather than draw a wrong book.
        if (m.sequence <= b.sequence) return resynchronise();
        b.sequence = m.sequence;
        (d.side === 'buy' ? b.bids : b.asks).set(d);
        mark('book');
        break;
      }
      case 'trades':
        state.tape.unshift(d);
        if (state.tape.length > TAPE_ROWS) state.tape.length = TAPE_ROWS;
        mark('tape');
        break;
      case 'candles':
        if (d.interval === state.interval) {
          const bar = { ...toBar(d), interval: d.interval, symbol: m.instrument };
          state.pendingBars.set(`${bar.symbol} ${bar.interval} ${bar.time}`, bar);
          mark('bar');
        }
        break;
      case 'ticker':
        state.ticker = d;
        mark('ticker');
        break;
      case 'orders':
        remember(d);
        break;
      case 'positions':
        rememberPosition(d);
        mark('positions');
        break;
      case 'instrument_status':
        $('instrument-status').textContent = d.status === 'halted' ? 'halted' : '';
        break;
      default:
        break;
    }
  }

  function onReply(m) {
    if (m.type === 'subscribed' && m.req_id === 'market') {
      $('instrument-status').textContent = m.status === 'halted' ? 'halted' : '';
    } else if (m.status >= 400) {
      const err = { status: m.status, code: m.error?.code, message: m.error?.message };
      showError('order-form', m.status === 401 ? 'key' : m.status === 403 ? 'client' : 'form', describe(err));
    }
  }

  function resynchronise() {
    stream.restart();
  }

  // ---- the candle chart ----------------------------------------------------------------
  const chart = { api: null, series: null };
  window.matchdChart = chart; // for the browser tests
  const toBar = (c) => ({
    time: Date.parse(c.open_time) / 1000, open: +c.open, high: +c.high, low: +c.low, close: +c.close,
  });
  // The charts' times, in UTC like every other time on the page, formatted here: the library's
  // own formatters call toLocaleString for each label, which builds a date formatter every
  // time (about 100 ms of the 300 ms task that drew its first candle).
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n) => String(n).padStart(2, '0');
  const hhmm = (d) => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  function tickMark(seconds, type) {
    const d = new Date(seconds * 1000);
    switch (type) {
      case 0: return String(d.getUTCFullYear()); // TickMarkType.Year
      case 1: return MONTHS[d.getUTCMonth()]; // Month
      case 2: return String(d.getUTCDate()); // DayOfMonth
      case 4: return `${hhmm(d)}:${two(d.getUTCSeconds())}`; // TimeWithSeconds
      default: return hhmm(d); // Time
    }
  }
  const crosshairTime = (seconds) => new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  function makeChart(container, height) {
    const lwc = window.LightweightCharts;
    return lwc.createChart(container, {
      height,
      autoSize: true,
      layout: { background: { color: '#171b22' }, textColor: '#d7dce3' },
      grid: { vertLines: { color: '#222833' }, horzLines: { color: '#222833' } },
      timeScale: { timeVisible: true, secondsVisible: false, tickMarkFormatter: tickMark },
      localization: { timeFormatter: crosshairTime },
    });
  }
  async function loadCandles() {
    const lwc = window.LightweightCharts;
    if (!chart.api) {
      chart.api = makeChart($('chart'), 420);
      chart.series = chart.api.addSeries(lwc.CandlestickSeries, {
        upColor: '#26a269', downColor: '#e5484d', wickUpColor: '#26a269', wickDownColor: '#e5484d', borderVisible: false,
      });
    }
    const precision = priceDecimals();
    chart.series.applyOptions({ priceFormat: { type: 'price', precision, minMove: 10 ** -precision } });
    chart.series.setData([]);
    $('chart-note').textContent = '';
    const symbol = state.symbol;
    const interval = state.interval;
    try {
      const r = await api('GET', `/candles?instrument=${encodeURIComponent(symbol)}&interval=${interval}&limit=500`);
      // Another instrument or interval was chosen meanwhile: its own load draws it.
      if (state.symbol !== symbol || state.interval !== interval) return;
      // Keep a newer bar the stream already drew (the history can trail it).
      const live = chart.series.data().at(-1);
      const bars = r.candles.map(toBar);
      if (live && (!bars.length || bars.at(-1).time < live.time)) bars.push(live);
      else if (live && bars.at(-1).time === live.time) bars[bars.length - 1] = live;
      chart.series.setData(bars);
    } catch (e) {
      // Without --db there is no history: the chart fills from the stream.
      $('chart-note').textContent = e.status === 503 ? 'live only (no history without --db)' : describe(e);
    }
  }

  // ---- my orders and positions ---------------------------------------------------------
  function orderRow(o) {
    const tr = el('tr', { 'data-order': o.order_id },
      el('td', {}, o.order_id.length > 12 ? `${o.order_id.slice(0, 8)}…` : o.order_id),
      el('td', { class: o.side }, o.side), el('td', {}, o.price ?? 'market'), el('td', {}, o.quantity),
      el('td', {}, o.filled_quantity), el('td', {}, o.status));
    const actions = el('td', {},
      el('button', { type: 'button', class: 'cancel', onclick: () => cancelOrder(o) }, 'Cancel'),
      el('button', { type: 'button', class: 'amend', onclick: () => startAmend(tr, o) }, 'Amend'));
    tr.append(actions);
    return tr;
  }
  // An order's newest state: kept while it rests, forgotten once final. The stream and the
  // answers may bring the same state twice, or an older one late: the sequence decides.
  function remember(o) {
    const known = state.orders.get(o.order_id);
    if (known && known.sequence > o.sequence) return;
    if (o.status === 'open' || o.status === 'partially_filled') state.orders.set(o.order_id, o);
    else state.orders.delete(o.order_id);
    mark('orders');
  }
  function rememberPosition(p) {
    const known = state.positions.get(p.instrument);
    if (!known || known.last_trade_id <= p.last_trade_id) state.positions.set(p.instrument, p);
  }
  async function cancelOrder(o) {
    clearErrors($('orders').closest('section'));
    try {
      await api('DELETE', `/orders/${encodeURIComponent(o.order_id)}`);
      state.orders.delete(o.order_id);
      mark('orders');
    } catch (e) {
      showError('orders', 'orders', describe(e));
    }
  }
  // The amend being edited lives in the state, not in the row, so that the order's updates
  // (which redraw the table) keep what the person is typing.
  function startAmend(tr, o) {
    state.amend = { id: o.order_id, price: o.price ?? '', quantity: o.quantity };
    tr.replaceWith(amendRow(o));
  }
  function amendRow(o) {
    const edit = state.amend;
    const price = el('input', { value: edit.price, 'aria-label': 'new price' });
    const quantity = el('input', { value: edit.quantity, 'aria-label': 'new quantity' });
    price.addEventListener('input', () => { edit.price = price.value; });
    quantity.addEventListener('input', () => { edit.quantity = quantity.value; });
    const save = el('button', { type: 'button', class: 'save', onclick: async () => {
      const body = { instrument: o.instrument };
      if (o.price != null && edit.price !== o.price) body.price = edit.price;
      if (edit.quantity !== o.quantity) body.quantity = edit.quantity;
      try {
        const r = await api('PATCH', `/orders/${encodeURIComponent(o.order_id)}`, body);
        state.amend = null;
        remember(r.order);
      } catch (e) {
        showError('orders', 'orders', describe(e));
      }
    } }, 'Save');
    const cancel = el('button', { type: 'button', class: 'discard', onclick: () => {
      state.amend = null;
      mark('orders');
    } }, 'Back');
    return el('tr', { 'data-order': o.order_id, class: 'amending' }, el('td', { colspan: 2 }, o.order_id),
      el('td', {}, price), el('td', {}, quantity), el('td', { colspan: 3 }, save, cancel));
  }
  async function loadMine() {
    state.orders.clear();
    state.positions.clear();
    mark('orders');
    mark('positions');
    if (!state.client) return;
    const client = encodeURIComponent(state.client);
    try {
      const [orders, positions] = await Promise.all([
        api('GET', `/orders?client_id=${client}&instrument=${encodeURIComponent(state.symbol)}&status=open&limit=1000`),
        api('GET', `/positions?client_id=${client}`),
      ]);
      // The streams may have brought newer states while these were read.
      for (const o of orders.orders) remember(o);
      for (const p of positions.positions) rememberPosition(p);
      mark('positions');
    } catch (e) {
      showError('order-form', e.status === 401 ? 'key' : 'client', describe(e));
    }
  }

  // ---- order entry ---------------------------------------------------------------------
  function syncEntryFields() {
    const market = $('type').value === 'market';
    $('price').disabled = market;
    if (market) $('tif').value = 'ioc';
  }
  async function placeOrder(ev) {
    ev.preventDefault();
    const form = $('order-form');
    clearErrors(form);
    $('order-result').textContent = '';
    const type = $('type').value;
    const body = {
      client_id: state.client, instrument: state.symbol, side: form.querySelector('input[name="side"]:checked').value,
      type, quantity: $('quantity').value.trim(), time_in_force: $('tif').value,
    };
    if (type === 'limit') body.price = $('price').value.trim();
    if (!body.client_id) return showError('order-form', 'client', 'a client id is needed to place orders');
    try {
      const r = await api('POST', '/orders', body);
      const o = r.order;
      $('order-result').textContent = `${o.order_id.slice(0, 8)}: ${o.status}${r.trades.length ? `, ${r.trades.length} trade(s)` : ''}`;
      remember(o);
    } catch (e) {
      showError('order-form', fieldOf[e.code] || (e.status === 401 ? 'key' : 'form'), describe(e));
    }
  }
  function saveIdentity() {
    const key = $('key').value.trim();
    const client = $('client').value.trim();
    if (key === state.key && client === state.client) return;
    state.key = key;
    state.client = client;
    // The key lives for this tab only; nothing is written to disk.
    if (key) sessionStorage.setItem('matchd.key', key);
    else sessionStorage.removeItem('matchd.key');
    if (client) sessionStorage.setItem('matchd.client', client);
    else sessionStorage.removeItem('matchd.client');
    clearErrors($('order-form'));
    loadMine();
    stream.restart();
  }

  // ---- the history form ----------------------------------------------------------------
  const history = { api: null, series: null };
  const utcInput = (ms) => new Date(ms).toISOString().slice(0, 19);
  const fromUtcInput = (text) => (text ? Date.parse(`${text}Z`) : NaN);
  async function showHistory(ev) {
    ev.preventDefault();
    const form = $('history-form');
    clearErrors(form);
    const symbol = $('history-instrument').value;
    const start = fromUtcInput($('history-start').value);
    const end = fromUtcInput($('history-end').value);
    if (Number.isNaN(start)) return showError('history-form', 'start', 'a start time is needed');
    if (Number.isNaN(end)) return showError('history-form', 'end', 'an end time is needed');
    const range = `instrument=${encodeURIComponent(symbol)}&start_time=${start}&end_time=${end}`;
    try {
      const [stats, trades] = await Promise.all([
        api('GET', `/analytics/stats?${range}`),
        api('GET', `/trades?${range}&limit=1000`),
      ]);
      const rows = [['trades', stats.trades], ['volume', stats.volume], ['VWAP', stats.vwap ?? '–'],
        ['average price', stats.average_price ?? '–'], ['open', stats.open ?? '–'], ['high', stats.high ?? '–'],
        ['low', stats.low ?? '–'], ['close', stats.close ?? '–']];
      $('history-stats').tBodies[0].replaceChildren(...rows.map(([k, v]) => el('tr', { 'data-stat': k }, el('td', {}, k), el('td', {}, String(v)))));
      $('history-trades').replaceChildren(...trades.trades.slice(0, HISTORY_ROWS).map((t) =>
        el('tr', { class: t.aggressor_side }, el('td', {}, t.timestamp.replace('T', ' ').slice(0, 23)), el('td', {}, t.price), el('td', {}, t.quantity), el('td', {}, t.aggressor_side))));
      drawHistory(trades.trades);
    } catch (e) {
      const field = /start_time/.test(e.message) ? 'start' : /end_time/.test(e.message) ? 'end' : 'history';
      showError('history-form', field, describe(e));
    }
  }
  function drawHistory(trades) {
    if (!history.api) {
      history.api = makeChart($('history-chart'), 220);
      history.series = history.api.addSeries(window.LightweightCharts.LineSeries, { color: '#3b82f6', lineWidth: 2 });
    }
    // The line needs one point per second: the last trade of each (trades come newest first).
    const bySecond = new Map();
    for (const t of trades) {
      const s = Math.floor(Date.parse(t.timestamp) / 1000);
      if (!bySecond.has(s)) bySecond.set(s, +t.price);
    }
    history.series.setData([...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value })));
    history.api.timeScale().fitContent();
  }

  // ---- start ---------------------------------------------------------------------------
  async function selectInstrument(symbol) {
    state.symbol = symbol;
    state.tape = [];
    state.ticker = null;
    mark('tape');
    mark('ticker');
    try {
      const [trades, ticker] = await Promise.all([
        api('GET', `/trades?instrument=${encodeURIComponent(symbol)}&limit=${TAPE_ROWS}`),
        api('GET', `/analytics/ticker?instrument=${encodeURIComponent(symbol)}`),
      ]);
      if (state.symbol !== symbol) return;
      // Stream messages may have come first: keep the newest of each id.
      const seen = new Set(state.tape.map((t) => t.trade_id));
      state.tape = [...state.tape, ...trades.trades.filter((t) => !seen.has(t.trade_id))].slice(0, TAPE_ROWS);
      state.ticker = state.ticker || ticker;
      mark('tape');
      mark('ticker');
    } catch (e) {
      $('chart-note').textContent = describe(e);
    }
    stream.restart();
    loadCandles();
    loadMine();
  }

  async function reloadAfterGap() {
    const symbol = state.symbol;
    try {
      const trades = await api('GET', `/trades?instrument=${encodeURIComponent(symbol)}&limit=${TAPE_ROWS}`);
      if (state.symbol !== symbol) return;
      const seen = new Set(state.tape.map((t) => t.trade_id));
      state.tape = [...state.tape, ...trades.trades.filter((t) => !seen.has(t.trade_id))]
        .sort((a, b) => b.sequence - a.sequence)
        .slice(0, TAPE_ROWS);
      mark('tape');
    } catch {
      // The tape fills again from the stream.
    }
    loadCandles();
    loadMine();
  }

  async function start() {
    $('key').value = state.key;
    $('client').value = state.client;
    $('key').addEventListener('change', saveIdentity);
    $('client').addEventListener('change', saveIdentity);
    $('type').addEventListener('change', syncEntryFields);
    $('order-form').addEventListener('submit', (ev) => {
      saveIdentity();
      placeOrder(ev);
    });
    $('history-form').addEventListener('submit', showHistory);
    for (const b of document.querySelectorAll('[data-interval]')) {
      b.addEventListener('click', () => {
        state.interval = b.dataset.interval;
        for (const o of document.querySelectorAll('[data-interval]')) o.classList.toggle('active', o === b);
        stream.restart();
        loadCandles();
      });
    }
    const now = Date.now();
    $('history-start').value = utcInput(now - 3600 * 1000);
    $('history-end').value = utcInput(now + 60 * 1000);
    try {
      state.instruments = (await api('GET', '/instruments')).instruments;
    } catch (e) {
      setConnection('error');
      $('chart-note').textContent = describe(e);
      return;
    }
    for (const select of [$('instrument'), $('history-instrument')]) {
      select.replaceChildren(...state.instruments.map((i) => el('option', { value: i.symbol }, i.symbol)));
    }
    $('instrument').addEventListener('change', () => selectInstrument($('instrument').value));
    syncEntryFields();
    await selectInstrument(state.instruments[0]?.symbol);
  }

  start();
})();
