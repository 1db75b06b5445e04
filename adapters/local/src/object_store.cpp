// SPDX-License-Identifier: Apache-2.0
#include "presign/local/object_store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>
#include <sigv4/encoding.hpp>
#include <sigv4/s3.hpp>

namespace presign::local {
namespace fs = std::filesystem;

namespace {

/// The ring between the receiving thread and an upload's workers: 8 x 256 KiB, allocated as
/// the upload grows (a slot is free again once both workers are done with it; the extra slots
/// absorb a writer waiting on writeback while the hasher goes on).
constexpr std::size_t ring_slots = 8;
constexpr std::size_t ring_slot_size = 256 << 10;
constexpr std::uint64_t writeback_window = 32ull << 20;
constexpr std::string_view meta_suffix = ".meta";

s3_error internal_error(std::string_view what) {
    return s3_error{500, "InternalError", "We encountered an internal error: " + std::string(what)};
}

s3_error write_error(int error) {
    return internal_error(std::string("cannot write the object to disk (") + std::strerror(error) +
                          ")");
}

s3_error no_such_bucket() {
    return s3_error{404, "NoSuchBucket", "The specified bucket does not exist"};
}

s3_error no_such_key() {
    return s3_error{404, "NoSuchKey", "The specified key does not exist."};
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

/// Writes `text` to `path` through a temporary file, fsynced, then renamed: all or nothing.
bool write_file_atomically(const fs::path& path, std::string_view text) {
    fs::path temp = path;
    temp += ".tmp-" + random_hex(8);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = write_all(fd, text.data(), text.size()) && ::fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
    if (ok) ok = ::rename(temp.c_str(), path.c_str()) == 0;
    if (!ok) ::unlink(temp.c_str());
    return ok;
}

std::optional<std::string> read_small_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return std::move(text).str();
}

nlohmann::json to_json(const object_info& info) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& h : info.stored_headers) headers.push_back({h.name, h.value});
    nlohmann::json json = {{"key", info.key},
                           {"size", info.size},
                           {"etag", info.etag},
                           {"content_type", info.content_type},
                           {"checksum_sha256", info.checksum_sha256},
                           {"last_modified", info.last_modified},
                           {"headers", headers},
                           {"data", info.data_file}};
    if (!info.part_files.empty()) {
        nlohmann::json parts = nlohmann::json::array();
        for (const auto& part : info.part_files) parts.push_back({part.file, part.size});
        json["parts"] = std::move(parts);
    }
    return json;
}

std::optional<object_info> from_json(std::string_view text) {
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return std::nullopt;
    try {
        object_info info;
        info.key = json.at("key").get<std::string>();
        info.size = json.at("size").get<std::uint64_t>();
        info.etag = json.at("etag").get<std::string>();
        info.content_type = json.at("content_type").get<std::string>();
        info.checksum_sha256 = json.at("checksum_sha256").get<std::string>();
        info.last_modified = json.at("last_modified").get<std::int64_t>();
        for (const auto& h : json.at("headers")) {
            info.stored_headers.push_back({h.at(0).get<std::string>(), h.at(1).get<std::string>()});
        }
        info.data_file = json.at("data").get<std::string>();
        if (const auto parts = json.find("parts"); parts != json.end()) {
            std::uint64_t total = 0;
            for (const auto& part : *parts) {
                info.part_files.push_back(
                    {part.at(0).get<std::string>(), part.at(1).get<std::uint64_t>()});
                total += info.part_files.back().size;
            }
            // One or the other, and the parts hold exactly the object's bytes.
            if (info.part_files.empty() || !info.data_file.empty() || total != info.size)
                return std::nullopt;
        }
        // Data file names are ours ("<hex>.<hex>.data"); refuse anything else found on disk.
        for (const auto& file : info.files()) {
            if (file.find('/') != std::string::npos || file.empty() || file[0] == '.')
                return std::nullopt;
        }
        return info;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

std::string base64_of(const unsigned char* bytes, std::size_t size) {
    return sigv4::base64_encode(std::span<const unsigned char>(bytes, size));
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
        // RAND_bytes only fails when the system has no entropy source; nothing sensible remains.
        std::abort();
    }
    return sigv4::hex_encode(buffer);
}

// ---- object_info, open_object -------------------------------------------------------------

std::vector<std::string> object_info::files() const {
    if (part_files.empty()) return {data_file};
    std::vector<std::string> names;
    names.reserve(part_files.size());
    for (const auto& part : part_files) names.push_back(part.file);
    return names;
}

open_object::open_object(open_object&& other) noexcept
    : pieces_(std::exchange(other.pieces_, {})), info_(std::move(other.info_)) {}

open_object& open_object::operator=(open_object&& other) noexcept {
    if (this != &other) {
        close_all();
        pieces_ = std::exchange(other.pieces_, {});
        info_ = std::move(other.info_);
    }
    return *this;
}

open_object::~open_object() {
    close_all();
}

void open_object::close_all() noexcept {
    for (const auto& open_piece : pieces_) {
        if (open_piece.fd >= 0) ::close(open_piece.fd);
    }
    pieces_.clear();
}

long open_object::read_at(std::uint64_t offset, char* out, std::size_t size) const noexcept {
    for (const auto& open_piece : pieces_) {
        if (offset >= open_piece.size) {
            offset -= open_piece.size;
            continue;
        }
        size = static_cast<std::size_t>(std::min<std::uint64_t>(size, open_piece.size - offset));
        for (;;) {
            const ssize_t n = ::pread(open_piece.fd, out, size, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            return static_cast<long>(n);
        }
    }
    return 0;
}

// ---- pending_upload ------------------------------------------------------------------------

/// The file and digests of an upload, and the ring of buffers between the thread receiving the
/// body (the producer) and the two workers that take each slot in turn: one computes the MD5, the
/// other writes the file (the consumers). The slowest stage (MD5, about 5 cycles a byte) then
/// runs alone on its core; a slot is reused once both are done with it. Until the workers start,
/// everything runs on the producer's thread.
struct pending_upload::state {
    enum stage : std::size_t { hashing = 0, writing = 1, stage_count = 2 };

    int fd = -1;
    bool hash_sha256 = true;
    sigv4::sha256 sha256;
    EVP_MD_CTX* md5 = EVP_MD_CTX_new();
    std::uint64_t written = 0;    ///< bytes handed to write(2)
    std::uint64_t writeback = 0;  ///< bytes whose writeback was started

    std::array<std::unique_ptr<char[]>, ring_slots> buffers;
    std::array<std::size_t, ring_slots> sizes{};
    std::size_t filling = 0;  ///< bytes in the producer's current slot
    // Guarded by `mutex` once the workers run:
    std::uint64_t produced = 0;                     ///< slots handed to the workers
    std::array<std::uint64_t, stage_count> done{};  ///< slots each worker has finished
    bool finishing = false;                         ///< no more slots will come: drain and stop
    bool stopping = false;                          ///< abandon the rest and stop
    std::optional<s3_error> error;
    std::mutex mutex;
    std::condition_variable changed;
    std::array<std::thread, stage_count> workers;
    bool tried_workers = false;  ///< workers start at the first full slot, or never

    explicit state(int file) : fd(file) {
        if (md5 == nullptr || EVP_DigestInit_ex(md5, EVP_md5(), nullptr) != 1) std::abort();
    }
    ~state() {
        stop();
        EVP_MD_CTX_free(md5);
        if (fd >= 0) ::close(fd);
    }
    state(const state&) = delete;
    state& operator=(const state&) = delete;

    char* slot(std::uint64_t index) {
        auto& buffer = buffers[index % ring_slots];
        if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(ring_slot_size);
        return buffer.get();
    }

    [[nodiscard]] bool threaded() const noexcept { return workers[writing].joinable(); }
    /// Slots both workers are done with (free for the producer).
    [[nodiscard]] std::uint64_t consumed() const noexcept {
        return std::min(done[hashing], done[writing]);
    }

    /// Writes one block; starts writeback as it goes so the final fsync has little left to do
    /// and dirty pages do not pile up (a hint: errors surface at fsync).
    store_result<void> write_block(const char* data, std::size_t size) {
        if (size == 0) return {};
        if (!write_all(fd, data, size)) return sigv4::unexpected{write_error(errno)};
        written += size;
        if (written - writeback >= writeback_window) {
            ::sync_file_range(fd, static_cast<off_t>(writeback),
                              static_cast<off_t>(written - writeback), SYNC_FILE_RANGE_WRITE);
            if (writeback >= writeback_window) {
                // Wait for the window before last, which bounds the dirty data of one upload.
                ::sync_file_range(fd, static_cast<off_t>(writeback - writeback_window),
                                  static_cast<off_t>(writeback_window),
                                  SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                      SYNC_FILE_RANGE_WAIT_AFTER);
            }
            writeback = written;
        }
        return {};
    }

    store_result<void> consume(stage which, const char* data, std::size_t size) {
        if (which == hashing) {
            EVP_DigestUpdate(md5, data, size);
            return {};
        }
        return write_block(data, size);
    }

    /// Both stages on the producer's thread (no workers).
    store_result<void> consume_here(const char* data, std::size_t size) {
        EVP_DigestUpdate(md5, data, size);
        return write_block(data, size);
    }

    void run_worker(stage which) {
        std::unique_lock lock(mutex);
        for (;;) {
            changed.wait(lock,
                         [&] { return done[which] < produced || finishing || stopping || error; });
            if (stopping || error || done[which] == produced) return;
            const std::uint64_t index = done[which];
            const std::size_t size = sizes[index % ring_slots];
            lock.unlock();
            auto result = consume(which, slot(index), size);
            lock.lock();
            if (!result) {
                error = result.error();
                changed.notify_all();
                return;
            }
            ++done[which];
            changed.notify_all();
        }
    }

    /// Starts both workers, or none (no thread to be had: the producer carries on alone).
    void start_workers() {
        try {
            workers[hashing] = std::thread([this] { run_worker(hashing); });
            workers[writing] = std::thread([this] { run_worker(writing); });
        } catch (const std::system_error&) {
            stop();
        }
    }

    /// Hands the full current slot over (starting the workers the first time) and waits for a
    /// free one.
    store_result<void> hand_over() {
        if (!tried_workers) {
            tried_workers = true;
            start_workers();
        }
        if (!threaded()) {
            auto done_here = consume_here(slot(0), filling);
            filling = 0;
            return done_here;
        }
        std::unique_lock lock(mutex);
        sizes[produced % ring_slots] = filling;
        ++produced;
        filling = 0;
        changed.notify_all();
        changed.wait(lock, [&] { return produced - consumed() < ring_slots || error.has_value(); });
        if (error) return sigv4::unexpected{*error};
        return {};
    }

    store_result<void> append(const char* data, std::size_t size) {
        {
            // A worker's error, if one met one, ends the upload at the next write.
            std::lock_guard lock(mutex);
            if (error) return sigv4::unexpected{*error};
        }
        // SHA-256 (when asked for) is computed here, MD5 and the writes on the workers.
        if (hash_sha256) sha256.update(data, size);
        while (size > 0) {
            if (filling == ring_slot_size) {
                if (auto handed = hand_over(); !handed) return handed;
            }
            const std::size_t take = std::min(ring_slot_size - filling, size);
            std::memcpy(slot(produced) + filling, data, take);
            filling += take;
            data += take;
            size -= take;
        }
        return {};
    }

    /// Everything received is hashed and handed to write(2), or the first error.
    store_result<void> finish() {
        if (!threaded()) {
            auto done_here = consume_here(slot(produced), filling);
            filling = 0;
            return done_here;
        }
        {
            std::lock_guard lock(mutex);
            if (filling > 0 && !error) {
                // The ring always has room for this slot: hand_over() waited for it.
                sizes[produced % ring_slots] = filling;
                ++produced;
                filling = 0;
            }
            finishing = true;
            changed.notify_all();
        }
        for (auto& worker : workers) worker.join();
        std::lock_guard lock(mutex);
        if (error) return sigv4::unexpected{*error};
        return {};
    }

    void stop() noexcept {
        {
            std::lock_guard lock(mutex);
            stopping = true;
            changed.notify_all();
        }
        for (auto& worker : workers) {
            if (worker.joinable()) worker.join();
        }
    }
};

pending_upload::pending_upload(object_store& store, std::string bucket, object_info info,
                               fs::path temp_path, int fd)
    : store_(&store),
      bucket_(std::move(bucket)),
      info_(std::move(info)),
      temp_path_(std::move(temp_path)),
      state_(std::make_unique<state>(fd)) {}

pending_upload::pending_upload(pending_upload&& other) noexcept
    : store_(other.store_),
      bucket_(std::move(other.bucket_)),
      info_(std::move(other.info_)),
      upload_id_(std::move(other.upload_id_)),
      part_number_(other.part_number_),
      temp_path_(std::move(other.temp_path_)),
      received_(other.received_),
      state_(std::move(other.state_)) {
    other.temp_path_.clear();
}

pending_upload::~pending_upload() {
    discard();
}

void pending_upload::hash_sha256(bool on) noexcept {
    if (state_) state_->hash_sha256 = on;
}

void pending_upload::discard() noexcept {
    state_.reset();  // stops the worker and closes the file
    if (!temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
        temp_path_.clear();
    }
}

store_result<void> pending_upload::write(const char* data, std::size_t size) {
    if (!state_) return sigv4::unexpected{internal_error("upload already finished")};
    received_ += size;
    return state_->append(data, size);
}

store_result<object_info> pending_upload::commit(const upload_expectations& expect) {
    if (!state_) return sigv4::unexpected{internal_error("upload already finished")};
    if (received_ != expect.content_length) {
        discard();
        return sigv4::unexpected{s3_error{
            400, "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header"}};
    }
    if (!state_->hash_sha256 &&
        (!expect.content_sha256_hex.empty() || !expect.checksum_sha256.empty())) {
        discard();
        return sigv4::unexpected{internal_error("the upload was not hashed")};
    }
    if (auto finished = state_->finish(); !finished) {
        discard();
        return sigv4::unexpected{finished.error()};
    }
    const sigv4::sha256_digest sha = state_->sha256.finish();
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned int md5_size = 0;
    EVP_DigestFinal_ex(state_->md5, md5, &md5_size);

    if (!expect.content_sha256_hex.empty() && sigv4::hex_encode(sha) != expect.content_sha256_hex) {
        discard();
        return sigv4::unexpected{s3_error{
            400, "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed."}};
    }
    if (!expect.checksum_sha256.empty() &&
        base64_of(sha.data(), sha.size()) != expect.checksum_sha256) {
        discard();
        return sigv4::unexpected{s3_error{
            400, "BadDigest", "The SHA256 you specified did not match the calculated checksum."}};
    }
    if (!expect.content_md5.empty() && base64_of(md5, md5_size) != expect.content_md5) {
        discard();
        return sigv4::unexpected{s3_error{
            400, "BadDigest", "The Content-MD5 you specified did not match what we received."}};
    }
    const bool synced = ::fsync(state_->fd) == 0;
    const bool closed = ::close(state_->fd) == 0;
    state_->fd = -1;
    if (!synced || !closed) {
        discard();
        return sigv4::unexpected{internal_error("cannot flush the object to disk")};
    }
    state_.reset();
    info_.size = received_;
    info_.etag = "\"" + sigv4::hex_encode(std::span<const unsigned char>(md5, md5_size)) + "\"";
    if (!upload_id_.empty()) {
        // A part: keep its bytes and ETag in the upload's directory until completion. The bytes go
        // first: a crash between the two leaves new bytes under an old ETag, which Complete refuses
        // (the client lists the new one), never old bytes under the new ETag.
        const fs::path dir = temp_path_.parent_path();
        const std::string number = std::to_string(part_number_);
        std::lock_guard lock(store_->upload_mutex(upload_id_));
        std::error_code gone;
        if (!fs::exists(dir / "upload.meta", gone)) {  // completed or aborted meanwhile
            discard();
            return sigv4::unexpected{
                s3_error{404, "NoSuchUpload",
                         "The specified upload does not exist. The upload ID may be invalid, "
                         "or the upload may have been aborted or completed."}};
        }
        if (::rename(temp_path_.c_str(), (dir / (number + ".part")).c_str()) != 0 ||
            !write_file_atomically(dir / (number + ".etag"), info_.etag)) {
            discard();
            return sigv4::unexpected{internal_error("cannot store the part")};
        }
        temp_path_.clear();
        return info_;
    }
    info_.checksum_sha256 = expect.checksum_sha256;
    info_.last_modified = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    auto committed = store_->commit(bucket_, std::move(info_), {temp_path_}, expect.precondition);
    discard();  // the temporary name: the bytes live on under the object's name once committed
    return committed;
}

// ---- object_store --------------------------------------------------------------------------

object_store::object_store(fs::path root) : root_(std::move(root)) {
    std::error_code ignored;
    fs::create_directories(root_ / "buckets", ignored);
    sweep_temporary_files(std::chrono::hours(1));
}

std::size_t object_store::sweep_temporary_files(std::chrono::seconds older_than) {
    // What a killed process left in buckets/*/tmp (upload-*, complete-*): nothing refers to it.
    std::size_t removed = 0;
    std::error_code error;
    const auto cutoff = fs::file_time_type::clock::now() - older_than;
    for (const auto& bucket : fs::directory_iterator(root_ / "buckets", error)) {
        std::error_code inner;
        for (const auto& entry : fs::directory_iterator(bucket.path() / "tmp", inner)) {
            std::error_code ignored;
            if (!entry.is_regular_file(ignored) || entry.last_write_time(ignored) >= cutoff)
                continue;
            if (fs::remove(entry.path(), ignored)) ++removed;
        }
    }
    return removed;
}

fs::path object_store::bucket_dir(std::string_view bucket) const {
    return root_ / "buckets" / std::string(bucket);
}

std::string object_store::key_hash(std::string_view key) {
    return sigv4::sha256_hex(key);
}

std::mutex& object_store::key_mutex(std::string_view hash) const {
    const auto index =
        std::stoul(std::string(hash.substr(0, 4)), nullptr, 16) % key_mutexes_.size();
    return key_mutexes_[index];
}

store_result<void> object_store::check_key(std::string_view key) {
    if (key.size() > 1024) {
        return sigv4::unexpected{s3_error{400, "KeyTooLongError", "Your key is too long"}};
    }
    if (key.empty() || !sigv4::is_valid_utf8(key) || key.find('\0') != std::string_view::npos) {
        return sigv4::unexpected{s3_error{
            400, "InvalidArgument", "Object keys must be 1 to 1024 bytes of UTF-8 without NUL."}};
    }
    return {};
}

store_result<void> object_store::create_bucket(std::string_view bucket) {
    if (!sigv4::s3::validate_bucket_name(bucket)) {
        return sigv4::unexpected{
            s3_error{400, "InvalidBucketName", "The specified bucket is not valid."}};
    }
    std::lock_guard lock(bucket_mutex_);
    std::error_code error;
    const fs::path dir = bucket_dir(bucket);
    fs::create_directories(dir / "objects", error);
    if (!error) fs::create_directories(dir / "tmp", error);
    if (error) return sigv4::unexpected{internal_error("cannot create the bucket directory")};
    fsync_dir(root_ / "buckets");
    return {};
}

bool object_store::bucket_exists(std::string_view bucket) const {
    if (!sigv4::s3::validate_bucket_name(bucket)) return false;
    std::error_code error;
    return fs::is_directory(bucket_dir(bucket) / "objects", error);
}

store_result<void> object_store::delete_bucket(std::string_view bucket) {
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    std::lock_guard lock(bucket_mutex_);
    const fs::path dir = bucket_dir(bucket);
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir / "objects", error)) {
        if (entry.path().native().ends_with(meta_suffix)) {
            return sigv4::unexpected{
                s3_error{409, "BucketNotEmpty", "The bucket you tried to delete is not empty"}};
        }
    }
    fs::remove_all(dir, error);
    if (error) return sigv4::unexpected{internal_error("cannot remove the bucket directory")};
    return {};
}

std::vector<std::string> object_store::list_buckets() const {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(root_ / "buckets", error)) {
        auto name = entry.path().filename().string();
        if (bucket_exists(name)) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

store_result<pending_upload> object_store::begin_upload(std::string_view bucket,
                                                        std::string_view key,
                                                        std::string content_type,
                                                        std::vector<sigv4::header> stored_headers) {
    if (auto valid = check_key(key); !valid) return sigv4::unexpected{valid.error()};
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    const fs::path temp = bucket_dir(bucket) / "tmp" / ("upload-" + random_hex(16));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return sigv4::unexpected{internal_error("cannot create a temporary file")};
    object_info info;
    info.key = std::string(key);
    info.content_type = content_type.empty() ? "binary/octet-stream" : std::move(content_type);
    info.stored_headers = std::move(stored_headers);
    return pending_upload(*this, std::string(bucket), std::move(info), temp, fd);
}

store_result<object_info> object_store::commit(const std::string& bucket, object_info info,
                                               const std::vector<fs::path>& sources,
                                               const write_precondition& precondition) {
    const fs::path dir = bucket_dir(bucket);
    const std::string hash = key_hash(info.key);
    const std::string stem = hash + "." + random_hex(8);
    // One file: the object's data file; several: a multipart object's parts, each named for its
    // place (they already are on disk, fsynced, in the same file system: only linked).
    if (sources.size() == 1) {
        info.data_file = stem + ".data";
    } else {
        info.data_file.clear();
        if (info.part_files.size() != sources.size())
            return sigv4::unexpected{internal_error("parts miscounted")};
        for (std::size_t i = 0; i < sources.size(); ++i)
            info.part_files[i].file = stem + "." + std::to_string(i + 1) + ".data";
    }
    const std::vector<std::string> names = info.files();
    const fs::path objects = dir / "objects";

    std::lock_guard lock(key_mutex(hash));
    auto previous = read_meta(dir, hash);
    // A conditional write is decided here, under the key's lock, so that two "create only" PUTs
    // racing for one key cannot both pass a check made before either committed. It is decided
    // before anything is placed, so a refused Complete leaves its upload as it was.
    if (precondition) {
        const bool current = previous && previous->key == info.key;
        if (auto refused = precondition(current ? &*previous : nullptr))
            return sigv4::unexpected{std::move(*refused)};
    }
    // Each source is linked into place and stays where it was until the metadata is written, so
    // an error or a crash before that leaves a multipart upload whole, to be completed again (the
    // caller removes the sources after). A file system without hard links (vfat, exFAT) gets the
    // file moved instead.
    std::vector<bool> moved;  // per placed file: renamed rather than linked
    const auto unplace = [&] {
        for (std::size_t i = 0; i < moved.size(); ++i) {
            const fs::path placed = objects / names[i];
            if (moved[i]) {
                ::rename(placed.c_str(), sources[i].c_str());
            } else {
                ::unlink(placed.c_str());
            }
        }
    };
    for (std::size_t i = 0; i < sources.size(); ++i) {
        const fs::path target = objects / names[i];
        if (::link(sources[i].c_str(), target.c_str()) == 0) {
            moved.push_back(false);
        } else if ((errno == EPERM || errno == EOPNOTSUPP) &&
                   ::rename(sources[i].c_str(), target.c_str()) == 0) {
            moved.push_back(true);
        } else {
            unplace();
            return sigv4::unexpected{internal_error("cannot move the object into place")};
        }
    }
    // The metadata file is the commit point: once renamed, readers see the new bytes.
    if (!write_file_atomically(objects / (hash + std::string(meta_suffix)), to_json(info).dump())) {
        unplace();
        return sigv4::unexpected{internal_error("cannot write the object's metadata")};
    }
    fsync_dir(objects);
    if (previous) {
        for (const auto& file : previous->files()) ::unlink((objects / file).c_str());
    }
    return info;
}

store_result<object_info> object_store::read_meta(const fs::path& bucket_path,
                                                  const std::string& hash) const {
    auto text = read_small_file(bucket_path / "objects" / (hash + std::string(meta_suffix)));
    if (!text) return sigv4::unexpected{no_such_key()};
    auto info = from_json(*text);
    if (!info) return sigv4::unexpected{internal_error("damaged object metadata")};
    return std::move(*info);
}

store_result<object_info> object_store::stat(std::string_view bucket, std::string_view key) const {
    if (auto valid = check_key(key); !valid) return sigv4::unexpected{valid.error()};
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    auto info = read_meta(bucket_dir(bucket), key_hash(key));
    // Two keys cannot share a hash in practice; the check costs nothing and proves it.
    if (info && info->key != key) return sigv4::unexpected{no_such_key()};
    return info;
}

store_result<open_object> object_store::open(std::string_view bucket, std::string_view key) const {
    // A concurrent PUT may replace the data file between reading the metadata and opening it;
    // the metadata is then newer, so try again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto info = stat(bucket, key);
        if (!info) return sigv4::unexpected{info.error()};
        const fs::path objects = bucket_dir(bucket) / "objects";
        std::vector<open_object::piece> pieces;
        const auto names = info->files();
        int failure = 0;
        for (std::size_t i = 0; i < names.size(); ++i) {
            const int fd = ::open((objects / names[i]).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                failure = errno;
                break;
            }
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // a GET reads it front to back
            pieces.push_back(
                {fd, info->part_files.empty() ? info->size : info->part_files[i].size});
        }
        if (failure == 0) return open_object(std::move(pieces), std::move(*info));
        open_object closes(std::move(pieces), {});
        if (failure == EMFILE || failure == ENFILE) {
            // Out of descriptors (a multipart object takes one per part): S3's answer to a
            // request it cannot take now, which clients retry with back-off.
            return sigv4::unexpected{s3_error{503, "SlowDown", "Please reduce your request rate."}};
        }
        if (failure != ENOENT) break;
    }
    return sigv4::unexpected{internal_error("cannot open the object")};
}

store_result<void> object_store::remove(std::string_view bucket, std::string_view key) {
    if (auto valid = check_key(key); !valid) return sigv4::unexpected{valid.error()};
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    const fs::path dir = bucket_dir(bucket);
    const std::string hash = key_hash(key);
    std::lock_guard lock(key_mutex(hash));
    auto info = read_meta(dir, hash);
    if (!info) return {};
    ::unlink((dir / "objects" / (hash + std::string(meta_suffix))).c_str());
    for (const auto& file : info->files()) ::unlink((dir / "objects" / file).c_str());
    fsync_dir(dir / "objects");
    return {};
}

store_result<std::vector<object_info>> object_store::list(std::string_view bucket,
                                                          std::string_view prefix,
                                                          std::string_view start_after,
                                                          std::size_t max_keys) const {
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    const fs::path dir = bucket_dir(bucket);
    std::vector<object_info> found;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir / "objects", error)) {
        const std::string name = entry.path().filename().string();
        if (!name.ends_with(meta_suffix) || name.find(".tmp-") != std::string::npos) continue;
        auto info = read_meta(dir, name.substr(0, name.size() - meta_suffix.size()));
        if (!info) continue;  // deleted meanwhile
        if (!info->key.starts_with(prefix) || info->key <= start_after) continue;
        found.push_back(std::move(*info));
    }
    std::sort(found.begin(), found.end(),
              [](const object_info& a, const object_info& b) { return a.key < b.key; });
    if (found.size() > max_keys + 1) found.resize(max_keys + 1);
    return found;
}

// ---- multipart uploads ----------------------------------------------------------------------

namespace {

s3_error no_such_upload() {
    return s3_error{
        404, "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed."};
}

bool is_upload_id(std::string_view id) {
    return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string unquoted(std::string_view etag) {
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        etag = etag.substr(1, etag.size() - 2);
    return std::string(etag);
}

constexpr std::uint64_t min_part_size = 5ull << 20;

}  // namespace

store_result<fs::path> object_store::multipart_dir(std::string_view bucket, std::string_view key,
                                                   std::string_view upload_id) const {
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    if (!is_upload_id(upload_id)) return sigv4::unexpected{no_such_upload()};
    const fs::path dir = bucket_dir(bucket) / "multipart" / std::string(upload_id);
    auto text = read_small_file(dir / "upload.meta");
    if (!text) return sigv4::unexpected{no_such_upload()};
    auto info = from_json(*text);
    if (!info || info->key != key) return sigv4::unexpected{no_such_upload()};
    return dir;
}

store_result<std::string> object_store::create_multipart(
    std::string_view bucket, std::string_view key, std::string content_type,
    std::vector<sigv4::header> stored_headers) {
    if (auto valid = check_key(key); !valid) return sigv4::unexpected{valid.error()};
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    const std::string id = random_hex(16);
    const fs::path dir = bucket_dir(bucket) / "multipart" / id;
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) return sigv4::unexpected{internal_error("cannot create the upload directory")};
    object_info info;
    info.key = std::string(key);
    info.content_type = content_type.empty() ? "binary/octet-stream" : std::move(content_type);
    info.stored_headers = std::move(stored_headers);
    info.data_file = "parts";
    info.last_modified = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();  // the upload's initiation
    if (!write_file_atomically(dir / "upload.meta", to_json(info).dump())) {
        fs::remove_all(dir, error);
        return sigv4::unexpected{internal_error("cannot record the upload")};
    }
    return id;
}

store_result<pending_upload> object_store::begin_part(std::string_view bucket, std::string_view key,
                                                      std::string_view upload_id, int part_number) {
    if (part_number < 1 || part_number > 10000) {
        return sigv4::unexpected{
            s3_error{400, "InvalidArgument",
                     "Part number must be an integer between 1 and 10000, inclusive"}};
    }
    auto dir = multipart_dir(bucket, key, upload_id);
    if (!dir) return sigv4::unexpected{dir.error()};
    const fs::path temp = *dir / ("part-" + random_hex(8) + ".tmp");
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return sigv4::unexpected{internal_error("cannot create a temporary file")};
    object_info info;
    info.key = std::string(key);
    pending_upload part(*this, std::string(bucket), std::move(info), temp, fd);
    part.upload_id_ = std::string(upload_id);
    part.part_number_ = part_number;
    return part;
}

store_result<object_info> object_store::complete_multipart(std::string_view bucket,
                                                           std::string_view key,
                                                           std::string_view upload_id,
                                                           const std::vector<completed_part>& parts,
                                                           const write_precondition& precondition) {
    std::lock_guard lock(upload_mutex(upload_id));
    auto dir = multipart_dir(bucket, key, upload_id);
    if (!dir) return sigv4::unexpected{dir.error()};
    if (parts.empty()) {
        return sigv4::unexpected{
            s3_error{400, "MalformedXML",
                     "The XML you provided was not well-formed or did not validate "
                     "against our published schema"}};
    }
    const s3_error invalid_part{
        400, "InvalidPart",
        "One or more of the specified parts could not be found. The part may not "
        "have been uploaded, or the specified entity tag may not match the part's "
        "entity tag."};
    // Check every part before writing anything.
    std::vector<fs::path> files;
    std::vector<data_piece> pieces;
    std::string md5s;
    int previous = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto& part = parts[i];
        if (part.part_number <= previous) {
            return sigv4::unexpected{
                s3_error{400, "InvalidPartOrder",
                         "The list of parts was not in ascending order. The parts "
                         "list must be specified in order by part number."}};
        }
        previous = part.part_number;
        const std::string number = std::to_string(part.part_number);
        auto etag = read_small_file(*dir / (number + ".etag"));
        if (!etag || unquoted(*etag) != unquoted(part.etag)) return sigv4::unexpected{invalid_part};
        const fs::path file = *dir / (number + ".part");
        std::error_code error;
        const auto size = fs::file_size(file, error);
        if (error) return sigv4::unexpected{invalid_part};
        if (i + 1 < parts.size() && size < min_part_size) {
            return sigv4::unexpected{
                s3_error{400, "EntityTooSmall",
                         "Your proposed upload is smaller than the minimum allowed size"}};
        }
        const std::string hex = unquoted(*etag);
        for (std::size_t at = 0; at + 1 < hex.size(); at += 2) {
            md5s += static_cast<char>(std::stoi(hex.substr(at, 2), nullptr, 16));
        }
        files.push_back(file);
        pieces.push_back({"", size});
    }
    auto text = read_small_file(*dir / "upload.meta");
    auto meta = text ? from_json(*text) : std::nullopt;
    if (!meta) return sigv4::unexpected{no_such_upload()};

    // The parts become the object as they are (fsynced when each was stored): nothing is copied.
    object_info info = std::move(*meta);
    info.size = 0;
    for (const auto& piece : pieces) info.size += piece.size;
    info.data_file.clear();
    if (pieces.size() > 1) info.part_files = std::move(pieces);
    unsigned char md5[EVP_MAX_MD_SIZE];
    unsigned int md5_size = 0;
    EVP_Digest(md5s.data(), md5s.size(), md5, &md5_size, EVP_md5(), nullptr);
    info.etag = "\"" + sigv4::hex_encode(std::span<const unsigned char>(md5, md5_size)) + "-" +
                std::to_string(parts.size()) + "\"";
    info.checksum_sha256.clear();
    info.last_modified = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    auto committed = commit(std::string(bucket), std::move(info), files, precondition);
    if (!committed) return committed;
    std::error_code error;
    fs::remove_all(*dir, error);
    return committed;
}

store_result<void> object_store::abort_multipart(std::string_view bucket, std::string_view key,
                                                 std::string_view upload_id) {
    std::lock_guard lock(upload_mutex(upload_id));
    auto dir = multipart_dir(bucket, key, upload_id);
    if (!dir) return sigv4::unexpected{dir.error()};
    std::error_code error;
    fs::remove_all(*dir, error);
    return {};
}

std::mutex& object_store::upload_mutex(std::string_view upload_id) const {
    return upload_mutexes_[std::hash<std::string_view>{}(upload_id) % upload_mutexes_.size()];
}

store_result<std::vector<object_store::part_info>> object_store::list_parts(
    std::string_view bucket, std::string_view key, std::string_view upload_id) const {
    auto dir = multipart_dir(bucket, key, upload_id);
    if (!dir) return sigv4::unexpected{dir.error()};
    std::vector<part_info> parts;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(*dir, error)) {
        const std::string name = entry.path().filename().string();
        if (!name.ends_with(".part")) continue;
        const std::string number = name.substr(0, name.size() - 5);
        int part_number = 0;
        const auto [end, parsed] =
            std::from_chars(number.data(), number.data() + number.size(), part_number);
        if (parsed != std::errc{} || end != number.data() + number.size()) continue;
        auto etag = read_small_file(*dir / (number + ".etag"));
        struct stat facts {};
        if (!etag || ::stat(entry.path().c_str(), &facts) != 0) continue;  // a part mid-commit
        parts.push_back({part_number, static_cast<std::uint64_t>(facts.st_size), *etag,
                         static_cast<std::int64_t>(facts.st_mtime)});
    }
    if (error) return sigv4::unexpected{internal_error("cannot list the parts")};
    std::sort(parts.begin(), parts.end(),
              [](const part_info& a, const part_info& b) { return a.part_number < b.part_number; });
    return parts;
}

store_result<std::vector<object_store::upload_info>> object_store::list_multipart_uploads(
    std::string_view bucket) const {
    if (!bucket_exists(bucket)) return sigv4::unexpected{no_such_bucket()};
    std::vector<upload_info> uploads;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(bucket_dir(bucket) / "multipart", error)) {
        const std::string id = entry.path().filename().string();
        if (!is_upload_id(id)) continue;
        auto text = read_small_file(entry.path() / "upload.meta");
        auto meta = text ? from_json(*text) : std::nullopt;
        if (!meta) continue;
        uploads.push_back({meta->key, id, meta->last_modified});
    }
    std::sort(uploads.begin(), uploads.end(), [](const upload_info& a, const upload_info& b) {
        return std::tie(a.key, a.initiated, a.upload_id) <
               std::tie(b.key, b.initiated, b.upload_id);
    });
    return uploads;
}

std::size_t object_store::sweep_multipart_uploads(std::int64_t initiated_before) {
    std::size_t removed = 0;
    for (const auto& bucket : list_buckets()) {
        auto uploads = list_multipart_uploads(bucket);
        if (!uploads) continue;
        for (const auto& upload : *uploads) {
            if (upload.initiated >= initiated_before) continue;
            if (abort_multipart(bucket, upload.key, upload.upload_id)) ++removed;
        }
    }
    return removed;
}

}  // namespace presign::local
