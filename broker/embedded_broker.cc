#include "eddy/broker/embedded_broker.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "broker/broker.h"
#include "broker/log/thread_name.h"

namespace eddy::broker {

struct embedded_broker::impl {
  std::string data_dir;
  bool owns_dir = false;
  std::unique_ptr<broker> b;
  std::thread loop;
  std::string bootstrap;
  bool stopped = false;
};

embedded_broker::embedded_broker() : embedded_broker(embedded_broker_options{}) {}

embedded_broker::embedded_broker(embedded_broker_options options) : impl_(std::make_unique<impl>()) {
  impl_->data_dir = options.data_dir;
  if (impl_->data_dir.empty()) {
    auto base = std::filesystem::temp_directory_path() / "eddy-embedded-XXXXXX";
    std::string tmpl = base.string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("embedded_broker: cannot create a temporary directory");
    impl_->data_dir = tmpl;
    impl_->owns_dir = true;
  }
  broker_config cfg;
  for (const auto& [k, v] : options.config)
    if (auto err = cfg.set(k, v)) throw std::runtime_error("embedded_broker: " + *err);
  if (auto err = cfg.set("listen", options.listen)) throw std::runtime_error("embedded_broker: " + *err);
  cfg.data_dir = impl_->data_dir;
  impl_->b = std::make_unique<broker>(cfg);
  if (auto err = impl_->b->start()) throw std::runtime_error("embedded_broker: " + *err);
  impl_->bootstrap = impl_->b->advertised_host() + ":" + std::to_string(impl_->b->advertised_port());
  impl_->loop = std::thread([b = impl_->b.get()] {
    log::name_this_thread("eddy-loop");
    b->run();
  });
}

embedded_broker::~embedded_broker() {
  stop();
  if (impl_->owns_dir) {
    std::error_code ec;
    std::filesystem::remove_all(impl_->data_dir, ec);
  }
}

std::string embedded_broker::bootstrap_servers() const { return impl_->bootstrap; }
const std::string& embedded_broker::data_dir() const { return impl_->data_dir; }

void embedded_broker::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->b->stop();
  if (impl_->loop.joinable()) impl_->loop.join();
  impl_->b.reset();
}

}  // namespace eddy::broker
