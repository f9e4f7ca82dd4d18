#include "durable_database.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace matchd::e2e {
namespace {

std::string read_server_conninfo() {
  const char* file = std::getenv("MATCHD_E2E_PG_FILE");
  if (file == nullptr || *file == '\0') return {};
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  if (line.empty()) {
    throw std::runtime_error(std::string("MATCHD_E2E_PG_FILE=") + file +
                             " names no connection string (did the e2e_pg fixture start?)");
  }
  return line;
}

// The fixture writes the file once, before any test starts.
const std::string& server_conninfo() {
  static const std::string conninfo = read_server_conninfo();
  return conninfo;
}

// Runs one statement on the cluster's maintenance database; throws with the server's error.
void run_on_cluster(const std::string& server, const std::string& sql) {
  const std::unique_ptr<PGconn, decltype(&PQfinish)> c(
      PQconnectdb((server + " dbname=postgres connect_timeout=10").c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) {
    throw std::runtime_error("e2e PostgreSQL unreachable: " + std::string(PQerrorMessage(c.get())));
  }
  const std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    throw std::runtime_error(sql + ": " + PQresultErrorMessage(r.get()));
  }
}

}  // namespace

bool durable_mode() {
  return !server_conninfo().empty();
}

durable_database::durable_database() : server_(server_conninfo()) {
  if (server_.empty()) throw std::runtime_error("durable_database outside durable mode");
  static std::atomic<unsigned> counter{0};
  name_ = "e2e_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  run_on_cluster(server_, "CREATE DATABASE " + name_);
  conninfo_ = server_ + " dbname=" + name_;
}

durable_database::~durable_database() {
  try {
    run_on_cluster(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::cerr << "[matchd-e2e] could not drop " << name_ << ": " << e.what() << "\n";
  }
}

}  // namespace matchd::e2e
