// SPDX-License-Identifier: Apache-2.0
#include "serve.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include <presign/cli/aws_config.hpp>
#include <presign/cli/credential_chain.hpp>
#include <presign/cli/network_credentials.hpp>
#include <presign/http/server.hpp>
#include <presign/local/object_store.hpp>
#include <presign/local/s3_server.hpp>
#include <presign/oidc/http_fetcher.hpp>
#include <presign/oidc/token_validator.hpp>
#include <presign/service.hpp>
#include <presign/web/page.hpp>
#include <sigv4/encoding.hpp>

#include "cli_support.hpp"
#include "hosts.hpp"
#include "local_credentials.hpp"

namespace presign::serve {
namespace {

constexpr int exit_internal = 1;
constexpr int exit_config = 3;
constexpr int exit_credentials = 4;
constexpr std::string_view local_identity = "local";

/// One write(2) per line, so lines from different threads never interleave.
void print_line(std::FILE* stream, std::string line) {
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stream);
    std::fflush(stream);
}

void say(std::string line) {
    print_line(stdout, std::move(line));
}

void write_stdout(std::string_view text) noexcept {
    while (!text.empty()) {
        const ssize_t written = ::write(STDOUT_FILENO, text.data(), text.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        text.remove_prefix(static_cast<std::size_t>(written));
    }
}

/// The access log (the service's JSON lines and the store's lines), written to stdout in
/// batches by one thread: every 100 ms, or as soon as 64 KiB are pending. One write(2) per
/// request cost a tenth of the API's time under load. Lines are never split or reordered;
/// flush() (and the destructor) writes what is pending.
class batched_log {
  public:
    batched_log() : writer_([this] { run(); }) {}
    ~batched_log() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        writer_.join();
        flush();
    }
    batched_log(const batched_log&) = delete;
    batched_log& operator=(const batched_log&) = delete;

    void add(std::string_view line) noexcept {
        bool overflowing = false;
        try {
            std::lock_guard lock(mutex_);
            pending_.append(line);
            pending_ += '\n';
            if (pending_.size() >= batch_bytes) wake_.notify_one();
            overflowing = pending_.size() >= max_pending_bytes;
        } catch (...) {
            return;  // out of memory: lose the line, not the request
        }
        // stdout is not keeping up (a full pipe): the logging threads wait for it too.
        if (overflowing) flush();
    }

    void flush() noexcept {
        std::lock_guard order(write_mutex_);
        std::string batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(pending_);
        }
        write_stdout(batch);
    }

  private:
    static constexpr std::size_t batch_bytes = 64 << 10;
    static constexpr std::size_t max_pending_bytes = 4 << 20;

    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, std::chrono::milliseconds(100),
                           [&] { return stopping_ || pending_.size() >= batch_bytes; });
            if (pending_.empty()) continue;
            lock.unlock();
            flush();
            lock.lock();
        }
    }

    std::mutex mutex_;        ///< guards pending_ and stopping_
    std::mutex write_mutex_;  ///< keeps batches in order
    std::condition_variable wake_;
    std::string pending_;
    bool stopping_ = false;
    std::thread writer_;
};

void complain(const std::string& line) {
    print_line(stderr, "presign serve: " + line);
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

bool is_content_type(std::string_view name) {
    constexpr std::string_view wanted = "content-type";
    return name.size() == wanted.size() &&
           std::equal(name.begin(), name.end(), wanted.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
           });
}

/// Turns the service's messages about environment variables into the flags serve takes.
std::string name_flags(std::string message) {
    static const std::pair<std::string_view, std::string_view> names[] = {
        {"BUCKET_NAME", "--bucket"},
        {"URL_EXPIRES", "--expires"},
        {"MAX_UPLOAD_BYTES", "--max-upload-bytes"},
        {"ALLOWED_CONTENT_TYPES", "--allowed-content-types"},
        {"MULTIPART_THRESHOLD", "--multipart-threshold"},
        {"ALLOWED_ORIGINS", "--allowed-origins"},
        {"AWS_REGION", "--region"},
        {"S3_ENDPOINT", "--endpoint"},
        {"S3_PATH_STYLE", "--path-style"},
        {"SHARE_MAX_SECONDS", "--share-max"}};
    for (const auto& [variable, flag] : names) {
        for (auto at = message.find(variable); at != std::string::npos;
             at = message.find(variable, at)) {
            message.replace(at, variable.size(), flag);
            at += flag.size();
        }
    }
    return message;
}

class request_counter {
  public:
    request_counter() : prefix_(local::random_hex(4)) {}
    std::string next() {
        return "serve-" + prefix_ + "-" + std::to_string(count_.fetch_add(1) + 1);
    }

  private:
    std::string prefix_;
    std::atomic<std::uint64_t> count_{0};
};

/// The API listener: the page's files and, for everything else, the shared service.
class api_server {
  public:
    api_server(std::size_t threads, const http::limits& deadlines)
        : server_(options(threads, deadlines),
                  [this](const http::request_head& req) { return handle(req); }) {}

    http::server& server() { return server_; }
    void set_service(std::unique_ptr<service::service> svc) { service_ = std::move(svc); }
    /// Listening on a wildcard address: links are signed for the host each client reached the API
    /// under (its Host header, already checked), by a service `make_service` builds per host name.
    void sign_for_request_host(
        std::function<std::unique_ptr<service::service>(const std::string& host)> make_service) {
        make_service_ = std::move(make_service);
    }
    /// Sign-in: bearer tokens validated by `validator`; without one, every caller is the local
    /// user.
    void set_validator(std::unique_ptr<oidc::token_validator> validator) {
        validator_ = std::move(validator);
    }
    /// The body of GET /config.json, the page's sign-in settings.
    void set_page_config(std::string json) { page_config_ = std::move(json); }
    /// Host names (besides IP literals and localhost) the API answers to.
    void set_host_names(std::vector<std::string> names) { host_names_ = std::move(names); }
    /// The API's own address: share links are <base_url>/s/<token>. Listening on `listen_host`,
    /// a client that reached the API under another name (see link_host) gets links under that
    /// name and `port` instead.
    void set_base_url(std::string url, std::string listen_host, int port) {
        base_url_ = std::move(url);
        listen_host_ = std::move(listen_host);
        port_ = port;
    }

  private:
    /// A bigger body is refused with 413 (the API's requests are small JSON documents).
    static constexpr std::size_t max_api_body = 64 * 1024;

    /// Collects a request body, at most max_api_body bytes, for the service.
    class body_collector final : public http::body_sink {
      public:
        body_collector(api_server& api, const http::request_head& req) : api_(api), req_(req) {}
        bool write(const char* data, std::size_t size) override {
            body_.append(data, size);
            return true;
        }
        http::response finish(http::body_end end) override {
            if (end != http::body_end::complete) {
                return api_.reject(req_, 413, "body_too_large",
                                   "the request body is larger than the limit of " +
                                       std::to_string(max_api_body) + " bytes");
            }
            return api_.answer(req_, std::move(body_));
        }

      private:
        api_server& api_;
        const http::request_head& req_;
        std::string body_;
    };

    http::server_options options(std::size_t threads, const http::limits& deadlines) {
        http::server_options out;
        out.threads = threads;
        out.deadlines = deadlines;
        out.render_error = [this](int status, const http::request_head* head) {
            static const http::request_head unparsed{};
            return reject(
                head != nullptr ? *head : unparsed, status == 431 ? 431 : status,
                status == 500 ? "internal" : "bad_request",
                status == 431 ? "the request head is too large" : "malformed HTTP request");
        };
        return out;
    }

    http::decision handle(const http::request_head& req) {
        const std::string* host = req.find("Host");
        if (host == nullptr ? req.version >= 11 : !host_allowed(*host, host_names_)) {
            return http::decision::respond(reject(req, host == nullptr ? 400 : 421,
                                                  "misdirected_request",
                                                  "this server does not answer to that Host"));
        }
        // Bodies are never decoded here: a compressed body is refused before it is read.
        if (const std::string* encoding = req.find("Content-Encoding");
            encoding != nullptr && !http::iequals(*encoding, "identity")) {
            return http::decision::respond(
                reject(req, 415, "unsupported_content_encoding",
                       "the API accepts uncompressed JSON only (Content-Encoding: "
                       "identity)"));
        }
        if (req.method == "GET" || req.method == "HEAD") {
            if (auto page = serve_page(req)) return http::decision::respond(std::move(*page));
        }
        return http::decision::read_body(std::make_unique<body_collector>(*this, req),
                                         max_api_body);
    }

    service::request to_service(const http::request_head& req, std::string body) {
        service::request request;
        request.method = req.method;
        auto path = sigv4::percent_decode(req.raw_path());
        request.path = path ? std::move(*path) : std::string(req.raw_path());
        // The service's decoder, as the Lambda applies it to rawQueryString; answer() refuses an
        // undecodable query.
        if (auto query = service::parse_query(req.raw_query())) request.query = std::move(*query);
        request.headers = req.headers;
        request.body = std::move(body);
        request.identity = std::string(local_identity);
        request.request_id = ids_.next();
        request.base_url = base_url_;
        // Only the name is taken from Host (a port part such as ":1@evil.example" is not).
        if (const std::string* host = req.find("Host")) {
            if (auto name = link_host(listen_host_, *host))
                request.base_url = "http://" + *name + ":" + std::to_string(port_);
        }
        return request;
    }

    static http::response render(service::response answer) {
        http::response res;
        res.status = answer.status;
        res.headers = std::move(answer.headers);
        if (!answer.body.empty()) {
            const bool typed =
                std::any_of(res.headers.begin(), res.headers.end(),
                            [](const sigv4::header& h) { return is_content_type(h.name); });
            if (!typed) res.add_header("Content-Type", "application/json");
        }
        res.body = std::move(answer.body);
        return res;
    }

    http::response answer(const http::request_head& req, std::string body) {
        service::request request = to_service(req, std::move(body));
        if (auto refusal = authenticate(req, request)) return render(std::move(*refusal));
        if (auto query = service::parse_query(req.raw_query()); !query) {
            return render(service_for(req)->reject(request, service::query_error::status,
                                                   service::query_error::code,
                                                   query.error().message));
        }
        return render(service_for(req)->handle(request));
    }

    /// Sets the caller's identity: the local user (to_service's default), or the subject of a
    /// valid bearer token. A request without a token goes on anonymous (the service refuses it
    /// where sign-in is needed, as API Gateway does on routes with the authorizer); an invalid
    /// token is a 401 here. Neither the token nor its claims are logged.
    std::optional<service::response> authenticate(const http::request_head& req,
                                                  service::request& request) const {
        if (!validator_) return std::nullopt;
        request.identity.reset();
        const std::string* authorization = req.find("Authorization");
        if (req.method == "OPTIONS" || authorization == nullptr) return std::nullopt;
        auto identity = validator_->validate(*authorization);
        if (identity) {
            request.identity = std::move(*identity);
            return std::nullopt;
        }
        const auto reason = std::string(oidc::to_string(identity.error().code));
        auto answer = service_for(req)->reject(request, 401, "invalid_token",
                                               reason + ": " + identity.error().message);
        answer.headers.push_back(
            {"WWW-Authenticate",
             "Bearer error=\"invalid_token\", error_description=\"" + reason + "\""});
        return answer;
    }

    /// The service's JSON error (with its CORS headers and log line); the connection is closed
    /// after it when a body was left unread.
    http::response reject(const http::request_head& req, int status, std::string_view code,
                          std::string_view message) {
        http::response res =
            render(service_for(req)->reject(to_service(req, {}), status, code, message));
        res.close = req.has_body();
        return res;
    }

    std::optional<http::response> serve_page(const http::request_head& req) const {
        if (auto page = web::page_response(req.raw_path(), page_config_))
            return render(std::move(*page));
        if (req.raw_path() == "/") {
            http::response res;
            res.add_header("Content-Type", "text/plain; charset=utf-8");
            res.body =
                "presign serve: this binary was built without the web page "
                "(adapters/web). The API answers POST /uploads, GET /downloads and GET/DELETE "
                "/files.\n";
            return res;
        }
        return std::nullopt;
    }

    /// The service signing for the host `req` reached the API under (see sign_for_request_host).
    std::shared_ptr<const service::service> service_for(const http::request_head& req) const {
        const std::string* host = req.find("Host");
        if (!make_service_ || host == nullptr) return service_;
        // Names the factory declines are not remembered (they cost one call each).
        const std::string name = host_name(*host);
        std::lock_guard lock(by_host_mutex_);
        if (auto found = by_host_.find(name); found != by_host_.end()) return found->second;
        std::shared_ptr<const service::service> made = make_service_(name);
        if (!made) return service_;
        // A few names are kept (the machine's addresses, localhost); past them, a client naming
        // many still gets links for the name it used, made for its request alone.
        if (by_host_.size() < max_hosts) by_host_.emplace(name, made);
        return made;
    }

    static constexpr std::size_t max_hosts = 16;
    std::shared_ptr<const service::service> service_;
    std::function<std::unique_ptr<service::service>(const std::string& host)> make_service_;
    mutable std::mutex by_host_mutex_;
    mutable std::map<std::string, std::shared_ptr<const service::service>, std::less<>> by_host_;
    std::vector<std::string> host_names_;
    std::unique_ptr<oidc::token_validator> validator_;
    std::string page_config_ = "{}";
    std::string base_url_;
    std::string listen_host_;
    int port_ = 0;
    request_counter ids_;
    http::server server_;  ///< last: stopped and destroyed before what its handler uses
};

struct listener_thread {
    std::thread thread;
    std::atomic<bool> done{false};
};

/// Takes the hard limit on open files as the soft one (Debian's soft default is 1,024): a GET of
/// a multipart object holds one descriptor per part, up to 10,000, besides every connection's.
void raise_descriptor_limit() noexcept {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return;
    const rlim_t wanted = std::min<rlim_t>(files.rlim_max, rlim_t{1} << 20);
    if (files.rlim_cur >= wanted) return;
    files.rlim_cur = wanted;
    ::setrlimit(RLIMIT_NOFILE, &files);
}

}  // namespace

int run_serve(const serve_options& options) {
    // SIGINT/SIGTERM are taken synchronously by the main thread (sigtimedwait below); every
    // thread started from here on inherits the blocked mask. A peer closing a socket mid-write
    // must not kill the process.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigset_t previous_mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);
    std::signal(SIGPIPE, SIG_IGN);
    raise_descriptor_limit();
    struct restore_mask {
        sigset_t mask;
        ~restore_mask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
    } restore{previous_mask};
    batched_log access_log;  // outlives both listeners

    const bool embedded = options.endpoint.empty();
    const std::string shown_host = url_host(options.host);
    const bool wildcard = is_wildcard(options.host);

    // ---- the S3 side: the embedded store, or an external engine --------------------------
    std::unique_ptr<local::s3_server> store;
    // The store's one key, set once the data directory is known and before any request: the
    // credentials that sign, and the same secret as the store's key table lends it.
    struct local_key {
        sigv4::credentials credentials;
        sigv4::known_key known;
    };
    std::shared_ptr<std::optional<local_key>> local_keys =
        std::make_shared<std::optional<local_key>>();
    std::string s3_url;
    std::string region = options.region.value_or("us-east-1");
    service::credentials_source signing_credentials;
    std::optional<local::s3_server_options> store_options;
    local_credentials local;
    std::string credentials_note;

    if (embedded) {
        if (auto created = create_private_directory(options.data_dir); !created) {
            complain(created.error());
            return exit_config;
        }
        local::s3_server_options so;
        so.data_dir = options.data_dir;
        so.region = region;
        so.keys = [local_keys](std::string_view access_key_id) -> const sigv4::known_key* {
            const auto& key = *local_keys;
            return key && key->credentials.access_key_id == access_key_id ? &key->known : nullptr;
        };
        so.max_object_bytes = std::min<std::uint64_t>(options.max_upload_bytes, 5ull << 30);
        so.abandoned_upload_age = options.abandoned_uploads_after;
        so.deadlines = options.deadlines;
        so.log = [&access_log](std::string_view line) { access_log.add(line); };
        store_options = std::move(so);
        // Origins are known after the API port is bound; the store is created then.
    } else {
        cli::config_overrides overrides;
        overrides.profile = options.profile;
        overrides.region = options.region;
        overrides.endpoint = options.endpoint;
        overrides.path_style = options.path_style;
        auto env = cli::process_environment();
        auto config = cli::load_aws_config(overrides, env);
        if (!config) {
            complain(config.error().message);
            return exit_config;
        }
        region = config->region;
        s3_url = config->endpoint.url;
        cli::chain_options chain;
        chain.network = cli::fetch_network_credentials;
        auto provider = std::make_shared<cli::credentials_provider>(*config, env, chain);
        auto first = provider->get_sourced();
        if (!first) {
            complain("no credentials for " + options.endpoint + ": " + first.error().message);
            return exit_credentials;
        }
        credentials_note = "credentials from the " + first->source + " (access key id " +
                           cli::mask_access_key_id(first->credentials.access_key_id) + ")";
        signing_credentials = [provider] { return provider->get(); };
    }

    // ---- the API listener first (its origin is the store's default CORS origin) ----------
    api_server api(std::max<std::size_t>(options.api_threads, 1), options.deadlines);
    const auto api_bound = api.server().bind(options.host, options.port);
    const int api_port = api_bound ? *api_bound : 0;
    if (api_port <= 0) {
        if (options.port != 0 && api_bound.error().find("already in use") != std::string::npos) {
            complain("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                     " for the API: the address is already in use (another presign serve? choose "
                     "another with --port, or 0 for any free port)");
            return exit_port_in_use;
        }
        complain("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                 " for the API");
        return exit_internal;
    }
    const std::string api_url = "http://" + shown_host + ":" + std::to_string(api_port);
    std::vector<std::string> origins = options.allowed_origins;
    if (origins.empty()) {
        origins.push_back(api_url);
        if (shown_host == "127.0.0.1")
            origins.push_back("http://localhost:" + std::to_string(api_port));
    }

    int s3_port = 0;
    std::vector<std::string> host_names{options.host};
    for (const auto& origin : origins) host_names.push_back(origin_host(origin));
    if (embedded && wildcard && options.allowed_origins.empty()) {
        // The page as reached through any address the API answers to (see sign_for_request_host).
        store_options->origin_check = [host_names, api_port](std::string_view origin) {
            const std::string suffix = ":" + std::to_string(api_port);
            if (!origin.starts_with("http://") || !origin.ends_with(suffix)) return false;
            const std::string_view host = origin.substr(7, origin.size() - 7 - suffix.size());
            return !host.empty() && host.find_first_of("/@ ") == std::string_view::npos &&
                   host_allowed(std::string(host) + suffix, host_names);
        };
    }
    api.set_host_names(std::move(host_names));
    if (embedded) {
        store_options->allowed_origins = origins;
        store = std::make_unique<local::s3_server>(*store_options);
        auto bound = store->bind(options.host, options.s3_port);
        if (!bound) {
            const bool taken = bound.error().find("already in use") != std::string::npos;
            complain(bound.error() +
                     (taken ? " (the S3 store's port: choose another with --s3-port, or 0)" : ""));
            return taken ? exit_port_in_use : exit_internal;
        }
        s3_port = *bound;
        s3_url = "http://" + shown_host + ":" + std::to_string(s3_port);
        auto loaded = load_or_create_local_credentials(options.data_dir, s3_url, region);
        if (!loaded) {
            complain(loaded.error());
            return exit_credentials;
        }
        local = std::move(*loaded);
        *local_keys = local_key{local.credentials, sigv4::known_key{local.credentials.secret, {}}};
        if (!store->ensure_bucket(options.bucket)) {
            complain("cannot create the bucket \"" + options.bucket + "\" in " + options.data_dir +
                     " (bucket names are 3-63 characters of a-z, 0-9, '.' and '-')");
            return exit_config;
        }
        signing_credentials = [local_keys]() -> sigv4::result<sigv4::credentials> {
            return (*local_keys)->credentials;
        };
    }

    // ---- the service, configured the way the Lambda is (same validation) -----------------
    std::map<std::string, std::string, std::less<>> settings = {
        {"BUCKET_NAME", options.bucket},
        {"URL_EXPIRES", std::to_string(options.expires.count())},
        {"MAX_UPLOAD_BYTES", std::to_string(options.max_upload_bytes)},
        {"ALLOWED_ORIGINS", join(origins)},
        {"ALLOW_ANONYMOUS", "false"},
        {"AWS_REGION", region},
    };
    if (!options.allowed_content_types.empty()) {
        settings["ALLOWED_CONTENT_TYPES"] = join(options.allowed_content_types);
    }
    if (options.multipart_threshold)
        settings["MULTIPART_THRESHOLD"] = std::to_string(*options.multipart_threshold);
    if (!s3_url.empty()) settings["S3_ENDPOINT"] = s3_url;
    settings["SHARE_MAX_SECONDS"] = std::to_string(options.share_max.count());
    auto link_secret = load_or_create_link_secret(options.data_dir);
    if (!link_secret) {
        complain(link_secret.error());
        return exit_credentials;
    }
    settings["LINK_SECRET"] = link_secret->current;
    if (link_secret->previous) settings["LINK_SECRET_PREVIOUS"] = *link_secret->previous;
    if (embedded || options.path_style) settings["S3_PATH_STYLE"] = "true";
    const auto configure = [](const std::map<std::string, std::string, std::less<>>& values) {
        return service::config::from_environment(
            [&values](std::string_view name) -> std::optional<std::string> {
                const auto found = values.find(name);
                if (found == values.end()) return std::nullopt;
                return found->second;
            });
    };
    auto config = configure(settings);
    if (!config) {
        complain("invalid setting: " + name_flags(config.error().message));
        return exit_config;
    }
    api.set_base_url(api_url, options.host, api_port);
    const service::log_sink log_line = [&access_log](std::string_view line) {
        access_log.add(line);
    };
    api.set_service(
        std::make_unique<service::service>(std::move(*config), signing_credentials, log_line));
    if (embedded) {
        // Links for the address the client used (a LAN address, localhost), with that page
        // origin allowed, instead of links to 127.0.0.1 that only this machine can follow. Bound
        // to one address, the store is reachable under that address only (and localhost for
        // 127.0.0.1).
        api.sign_for_request_host(
            [=](const std::string& host) -> std::unique_ptr<service::service> {
                const auto link = link_host(options.host, host);
                if (!link) return nullptr;
                auto values = settings;
                values["S3_ENDPOINT"] = "http://" + *link + ":" + std::to_string(s3_port);
                if (options.allowed_origins.empty()) {
                    values["ALLOWED_ORIGINS"] +=
                        ",http://" + *link + ":" + std::to_string(api_port);
                }
                auto per_host = configure(values);
                if (!per_host) return nullptr;
                return std::make_unique<service::service>(std::move(*per_host), signing_credentials,
                                                          log_line);
            });
    }

    // ---- sign-in: the provider must answer discovery before serve says it is ready --------
    if (!options.oidc_issuer.empty()) {
        oidc::validator_options validation;
        validation.issuer = options.oidc_issuer;
        validation.audiences = options.oidc_audiences;
        auto validator = std::make_unique<oidc::token_validator>(validation, oidc::http_fetcher());
        if (auto discovered = validator->discover(); !discovered) {
            complain("--oidc-issuer: " + discovered.error());
            return exit_config;
        }
        api.set_validator(std::move(validator));
        api.set_page_config(web::page_config(options.oidc_issuer, options.oidc_audiences.front(),
                                             options.oidc_logout_endpoint));
    }

    // ---- tell the person, then serve -------------------------------------------------------
    if (options.oidc_issuer.empty()) {
        say("presign serve: sharing files on this machine, as one local user (\"" +
            std::string(local_identity) + "\"): there is no sign-in, so anyone who can reach " +
            shown_host + ":" + std::to_string(api_port) + " can upload and share.");
    } else {
        say("presign serve: sharing files on this machine for the users of " + options.oidc_issuer +
            " (client " + options.oidc_audiences.front() +
            "); each signs in and sees only their own files.");
    }
    say("  web page     " + api_url + "/");
    say("  API          " + api_url + "/uploads  " + api_url + "/downloads  " + api_url + "/files");
    if (embedded) {
        say("  S3 store     " + s3_url + "  bucket \"" + options.bucket + "\"  region " + region +
            "  data in " + std::filesystem::absolute(options.data_dir).lexically_normal().string());
        say(std::string("  credentials  access key id ") + local.credentials.access_key_id + " (" +
            (local.created ? "generated now" : "reused") + "); the secret stays in " +
            local.credentials_file.string() + " (mode 0600)");
        say("  use them with the AWS CLI, boto3 or presign:");
        say("    export AWS_SHARED_CREDENTIALS_FILE=" +
            cli::shell_quote(local.credentials_file.string()) +
            " AWS_CONFIG_FILE=" + cli::shell_quote(local.config_file.string()) +
            " AWS_PROFILE=" + cli::shell_quote(local_profile));
        say("    aws s3 ls s3://" + options.bucket + "/ --recursive");
        // The profile sets the endpoint and path-style: with the export above, nothing else.
        say("    " + options.presign_command + " get s3://" + options.bucket + "/KEY");
        if (!options.install_hint.empty()) say("    " + options.install_hint);
    } else {
        say("  S3 engine    " + s3_url + "  bucket \"" + options.bucket + "\"  region " + region +
            "  " + credentials_note);
    }
    say("  links last " + std::to_string(options.expires.count()) + " s; share links (" + api_url +
        "/s/...) up to " + std::to_string(options.share_max.count()) +
        " s, signed with the secret in " + link_secret->file.string() + " (" +
        (link_secret->created ? "generated now" : "reused") + ", mode 0600)");
    say("  stop with Ctrl-C");
    say("listening api=" + api_url +
        " s3=" + (s3_url.empty() ? "https://s3." + region + ".amazonaws.com" : s3_url));

    listener_thread api_thread;
    listener_thread store_thread;
    api_thread.thread = std::thread([&] {
        api.server().run();
        api_thread.done = true;
    });
    if (store) {
        store_thread.thread = std::thread([&] {
            store->listen();
            store_thread.done = true;
        });
    }

    int exit_code = 0;
    for (;;) {
        const timespec tick{0, 200 * 1000 * 1000};
        siginfo_t info{};
        const int signal_number = sigtimedwait(&stop_signals, &info, &tick);
        if (signal_number == SIGINT || signal_number == SIGTERM) {
            access_log.flush();
            say(std::string("presign serve: stopping (") +
                (signal_number == SIGINT ? "SIGINT" : "SIGTERM") + ")");
            break;
        }
        if (api_thread.done || (store && store_thread.done)) {
            complain("a listener stopped unexpectedly");
            exit_code = exit_internal;
            break;
        }
    }
    // stop() only acts once the listener runs; keep asking until each thread has finished.
    while (!api_thread.done || (store && !store_thread.done)) {
        api.server().stop();
        if (store) store->stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    api_thread.thread.join();
    if (store_thread.thread.joinable()) store_thread.thread.join();
    access_log.flush();
    if (exit_code == 0) say("presign serve: stopped");
    return exit_code;
}

}  // namespace presign::serve
