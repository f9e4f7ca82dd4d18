// The PostgreSQL test harness itself: a private cluster starts, serves the `matchd`
// database on 127.0.0.1, stops, starts again on the same port and keeps its data.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "pg_server.h"

namespace matchd::pgtest {
namespace {

TEST(pg_server, starts_serves_stops_and_keeps_its_data_across_a_restart) {
  pg_server pg;
  pg.start();
  ASSERT_TRUE(pg.running());
  ASSERT_NE(pg.port(), 0);
  EXPECT_NE(pg.connection_string().find("host=127.0.0.1"), std::string::npos);
  const std::uint16_t port = pg.port();
  const pid_t first_pid = pg.pid();

  {
    pqxx::connection connection(pg.connection_string());
    pqxx::work work(connection);
    EXPECT_EQ(work.exec1("SELECT current_database()")[0].as<std::string>(), "matchd");
    EXPECT_EQ(work.exec1("SHOW fsync")[0].as<std::string>(), "on");
    EXPECT_EQ(work.exec1("SHOW listen_addresses")[0].as<std::string>(), "127.0.0.1");
    work.exec0("CREATE TABLE kept (id bigint PRIMARY KEY, note text NOT NULL)");
    work.exec0("INSERT INTO kept VALUES (1, 'before restart')");
    work.commit();
  }

  pg.stop();
  EXPECT_FALSE(pg.running());
  EXPECT_NE(::kill(first_pid, 0), 0) << "the postmaster must be gone after stop()";
  EXPECT_THROW(pqxx::connection{pg.connection_string()}, pqxx::broken_connection);

  pg.start_again();
  ASSERT_TRUE(pg.running());
  EXPECT_EQ(pg.port(), port);
  {
    pqxx::connection connection(pg.connection_string());
    pqxx::work work(connection);
    EXPECT_EQ(work.exec1("SELECT note FROM kept WHERE id = 1")[0].as<std::string>(),
              "before restart");
  }

  // An immediate shutdown loses nothing committed either (crash recovery on start).
  {
    pqxx::connection connection(pg.connection_string());
    pqxx::work work(connection);
    work.exec0("INSERT INTO kept VALUES (2, 'before crash')");
    work.commit();
  }
  pg.stop_immediately();
  pg.start_again();
  {
    pqxx::connection connection(pg.connection_string());
    pqxx::work work(connection);
    EXPECT_EQ(work.exec1("SELECT count(*) FROM kept")[0].as<int>(), 2);
  }
}

TEST(pg_server, destructor_stops_the_cluster_and_removes_its_directory) {
  std::filesystem::path dir;
  pid_t pid = -1;
  {
    pg_server pg;
    pg.start();
    dir = pg.dir();
    pid = pg.pid();
    ASSERT_TRUE(std::filesystem::exists(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(pg_server, two_clusters_run_side_by_side) {
  pg_server a;
  pg_server b;
  a.start();
  b.start();
  EXPECT_NE(a.port(), b.port());
  pqxx::connection ca(a.connection_string());
  pqxx::connection cb(b.connection_string());
  pqxx::work wa(ca);
  pqxx::work wb(cb);
  EXPECT_EQ(wa.exec1("SELECT 1")[0].as<int>(), 1);
  EXPECT_EQ(wb.exec1("SELECT 2")[0].as<int>(), 2);
}

}  // namespace
}  // namespace matchd::pgtest
