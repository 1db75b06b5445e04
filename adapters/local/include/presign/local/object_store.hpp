// SPDX-License-Identifier: Apache-2.0
// The on-disk half of the local S3-compatible store: buckets, objects and their metadata under one
// data directory. Object files are named after the SHA-256 of the key, so no key (however it is
// spelled: "..", "%2e%2e", backslashes, NUL, absolute paths, 1024 bytes) can name a path outside
// it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sigv4/hash.hpp>
#include <sigv4/request.hpp>
#include <sigv4/result.hpp>

namespace presign::local {

/// An S3 error as the wire shows it: status, code ("NoSuchKey") and a message for people.
struct s3_error {
    int status = 500;
    std::string code = "InternalError";
    std::string message = "We encountered an internal error. Please try again.";
};

template <class T>
using store_result = sigv4::result<T, s3_error>;

/// One file of an object's bytes, inside the bucket.
struct data_piece {
    std::string file;  ///< file name (no directory)
    std::uint64_t size = 0;
};

/// What is kept beside an object.
struct object_info {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;                ///< quoted lowercase hex MD5, as S3 prints it
    std::string content_type;        ///< as uploaded (default binary/octet-stream)
    std::string checksum_sha256;     ///< base64, when the upload carried x-amz-checksum-sha256
    std::int64_t last_modified = 0;  ///< unix seconds
    /// Other headers S3 keeps and returns on GET/HEAD (Content-Disposition, Cache-Control,
    /// x-amz-meta-*, ...).
    std::vector<sigv4::header> stored_headers;
    std::string data_file;  ///< file name (no directory) of the bytes, inside the bucket
    /// A completed multipart upload's bytes instead: its parts' files, in order (data_file is
    /// then empty). Completing keeps each part's file where it was stored, as S3 keeps a
    /// multipart object as its parts, so that completing a 5 TiB upload copies nothing.
    std::vector<data_piece> part_files;

    /// Every file holding the bytes: data_file, or the part files.
    [[nodiscard]] std::vector<std::string> files() const;
};

/// An object opened for reading: its files stay readable even if replaced or deleted meanwhile
/// (every file of a multipart object is opened at once, one descriptor per part).
class open_object {
  public:
    /// An open file of the object and how many of the object's bytes it holds.
    struct piece {
        int fd = -1;
        std::uint64_t size = 0;
    };

    open_object() = default;
    /// Takes ownership of the descriptors.
    open_object(std::vector<piece> pieces, object_info info)
        : pieces_(std::move(pieces)), info_(std::move(info)) {}
    open_object(open_object&& other) noexcept;
    open_object& operator=(open_object&& other) noexcept;
    open_object(const open_object&) = delete;
    open_object& operator=(const open_object&) = delete;
    ~open_object();

    [[nodiscard]] const object_info& info() const noexcept { return info_; }
    /// Reads up to `size` bytes at `offset` (within one piece); returns the count (0 at the
    /// end), -1 on error.
    [[nodiscard]] long read_at(std::uint64_t offset, char* out, std::size_t size) const noexcept;
    /// The open files in order (for sendfile(2)); owned by this object, valid while it lives.
    [[nodiscard]] const std::vector<piece>& pieces() const noexcept { return pieces_; }

  private:
    void close_all() noexcept;

    std::vector<piece> pieces_;
    object_info info_;
};

/// A write's precondition (S3's conditional writes: If-None-Match: *, If-Match), given the key's
/// current object (nullptr when there is none). It runs under the key's lock at the moment the
/// write commits, so no other write to the key can come between the check and the commit: of
/// many concurrent "create only" writes exactly one succeeds. Returns the error that refuses
/// the write, or nothing to let it happen. Must not call back into the store.
using write_precondition = std::function<std::optional<s3_error>(const object_info* current)>;

/// What the client promised about the bytes; checked when the upload is committed.
struct upload_expectations {
    std::uint64_t content_length = 0;
    std::string content_sha256_hex;   ///< x-amz-content-sha256 when it is a hash (lowercase hex)
    std::string checksum_sha256;      ///< x-amz-checksum-sha256 (base64)
    std::string content_md5;          ///< Content-MD5 (base64)
    write_precondition precondition;  ///< empty: unconditional
};

class object_store;

/// A PUT in progress: bytes go to a temporary file (hashed as they arrive) and become visible
/// only on commit(). Destroying an uncommitted upload removes the temporary file.
///
/// Once an upload outgrows one buffer, MD5 (the ETag) and the file writes run on two worker
/// threads of their own (one each, so that uploads in parallel hash on every core and a write
/// waiting on the disk does not hold the hash back), fed through a small ring of buffers, while
/// the thread receiving the body copies into the ring and computes the SHA-256 (when one is
/// checked); smaller uploads stay on the caller's thread.
class pending_upload {
  public:
    pending_upload(pending_upload&& other) noexcept;
    pending_upload& operator=(pending_upload&&) = delete;
    pending_upload(const pending_upload&) = delete;
    pending_upload& operator=(const pending_upload&) = delete;
    ~pending_upload();

    /// Appends bytes (buffered). Fails with InternalError on a disk error (possibly one met by
    /// the writing worker on earlier bytes).
    [[nodiscard]] store_result<void> write(const char* data, std::size_t size);
    [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
    /// Whether to compute the body's SHA-256 (on by default; off when nothing will check it).
    /// Call before the first write().
    void hash_sha256(bool on) noexcept;
    /// Checks size and digests against `expect`, fsyncs, and renames into place. Errors:
    /// IncompleteBody (fewer bytes), XAmzContentSHA256Mismatch, BadDigest, InvalidDigest, and the
    /// error of expect.precondition (checked atomically with the rename; ignored for a part).
    [[nodiscard]] store_result<object_info> commit(const upload_expectations& expect);

  private:
    friend class object_store;
    pending_upload(object_store& store, std::string bucket, object_info info,
                   std::filesystem::path temp_path, int fd);
    void discard() noexcept;

    object_store* store_;
    std::string bucket_;
    object_info info_;
    std::string upload_id_;  ///< a multipart part: its upload, and part_number_
    int part_number_ = 0;
    std::filesystem::path temp_path_;
    std::uint64_t received_ = 0;
    /// The file, digests and buffer ring; on the heap so the workers keep a stable address.
    struct state;
    std::unique_ptr<state> state_;
};

/// Buckets are directories named after the (validated) bucket name; objects live in them under
/// hashed names. Safe for concurrent use from many threads of one process.
class object_store {
  public:
    /// Creates `root` (and its layout) when missing, and removes the temporary files of uploads
    /// a killed process left behind (older than one hour). Throws nothing.
    explicit object_store(std::filesystem::path root);

    /// Removes files in buckets/*/tmp last written more than `older_than` ago; returns how many.
    /// Safe while uploads run only if `older_than` exceeds any upload's duration.
    std::size_t sweep_temporary_files(std::chrono::seconds older_than);

    [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

    /// Errors: InvalidBucketName (400). Creating an existing bucket succeeds (as S3 does for its
    /// owner in us-east-1).
    [[nodiscard]] store_result<void> create_bucket(std::string_view bucket);
    [[nodiscard]] bool bucket_exists(std::string_view bucket) const;
    /// Errors: NoSuchBucket, BucketNotEmpty (409).
    [[nodiscard]] store_result<void> delete_bucket(std::string_view bucket);
    [[nodiscard]] std::vector<std::string> list_buckets() const;

    /// Starts a PUT of bucket/key. Errors: NoSuchBucket, KeyTooLongError, InvalidArgument.
    [[nodiscard]] store_result<pending_upload> begin_upload(
        std::string_view bucket, std::string_view key, std::string content_type,
        std::vector<sigv4::header> stored_headers);
    /// Errors: NoSuchBucket, NoSuchKey.
    [[nodiscard]] store_result<object_info> stat(std::string_view bucket,
                                                 std::string_view key) const;
    /// Opens every file of the object. Errors: NoSuchBucket, NoSuchKey, SlowDown (503: out of
    /// file descriptors, as a multipart object takes one per part), InternalError.
    [[nodiscard]] store_result<open_object> open(std::string_view bucket,
                                                 std::string_view key) const;
    /// Deleting a missing key succeeds (S3 semantics). Errors: NoSuchBucket.
    [[nodiscard]] store_result<void> remove(std::string_view bucket, std::string_view key);

    /// Objects whose key starts with `prefix` and sorts after `start_after`, in key order, at most
    /// `max_keys` + 1 (so the caller can tell whether the list was truncated).
    [[nodiscard]] store_result<std::vector<object_info>> list(std::string_view bucket,
                                                              std::string_view prefix,
                                                              std::string_view start_after,
                                                              std::size_t max_keys) const;

    // ---- multipart uploads (what `aws s3 cp` and boto3 use above 8 MiB) ----------------

    /// Starts a multipart upload and returns its id. Errors as begin_upload().
    [[nodiscard]] store_result<std::string> create_multipart(
        std::string_view bucket, std::string_view key, std::string content_type,
        std::vector<sigv4::header> stored_headers);
    /// Starts one part (1..10000); commit() makes it available to complete_multipart (the
    /// object_info it returns carries the part's ETag). Errors: NoSuchUpload, InvalidArgument.
    [[nodiscard]] store_result<pending_upload> begin_part(std::string_view bucket,
                                                          std::string_view key,
                                                          std::string_view upload_id,
                                                          int part_number);
    struct completed_part {
        int part_number = 0;
        std::string etag;  ///< as the client sent it (quotes optional)
    };
    /// Makes the listed parts the object: their files are linked into place and kept as its
    /// pieces (object_info::part_files), so nothing is copied; the upload is removed after. Errors:
    /// NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall (a part other than the last
    /// under 5 MiB), and the error of `precondition` (checked atomically with the commit); a
    /// refused completion keeps the upload and its parts, as S3 does.
    [[nodiscard]] store_result<object_info> complete_multipart(
        std::string_view bucket, std::string_view key, std::string_view upload_id,
        const std::vector<completed_part>& parts, const write_precondition& precondition = {});
    /// Errors: NoSuchUpload.
    [[nodiscard]] store_result<void> abort_multipart(std::string_view bucket, std::string_view key,
                                                     std::string_view upload_id);

    /// A part stored so far (the last one uploaded under its number).
    struct part_info {
        int part_number = 0;
        std::uint64_t size = 0;
        std::string etag;  ///< quoted lowercase hex MD5 of the part's bytes
        std::int64_t last_modified = 0;
    };
    /// The parts of an upload, by part number. Errors: NoSuchBucket, NoSuchUpload.
    [[nodiscard]] store_result<std::vector<part_info>> list_parts(std::string_view bucket,
                                                                  std::string_view key,
                                                                  std::string_view upload_id) const;
    /// An upload in progress.
    struct upload_info {
        std::string key;
        std::string upload_id;
        std::int64_t initiated = 0;  ///< unix seconds
    };
    /// The uploads in progress in `bucket`, by key, then initiation, then id. Errors: NoSuchBucket.
    [[nodiscard]] store_result<std::vector<upload_info>> list_multipart_uploads(
        std::string_view bucket) const;
    /// Aborts every upload, in every bucket, initiated before `initiated_before` (unix seconds), as
    /// S3's AbortIncompleteMultipartUpload lifecycle rule does. Returns how many it removed.
    std::size_t sweep_multipart_uploads(std::int64_t initiated_before);

    /// Errors for a key S3 would refuse: KeyTooLongError (> 1024 bytes), InvalidArgument
    /// (empty, not UTF-8, NUL).
    [[nodiscard]] static store_result<void> check_key(std::string_view key);

  private:
    friend class pending_upload;
    std::filesystem::path bucket_dir(std::string_view bucket) const;
    /// The directory of a multipart upload of bucket/key, after checking the id's form and that
    /// it belongs to that key.
    store_result<std::filesystem::path> multipart_dir(std::string_view bucket, std::string_view key,
                                                      std::string_view upload_id) const;
    static std::string key_hash(std::string_view key);
    std::mutex& key_mutex(std::string_view hash) const;
    store_result<object_info> read_meta(const std::filesystem::path& bucket_path,
                                        const std::string& hash) const;
    /// Links `sources` (one file for a PUT, or a multipart upload's parts, whose sizes are in
    /// info.part_files) into the bucket and writes the metadata, the commit point; the
    /// precondition is checked first, under the key's lock. The sources stay where they were
    /// (the caller removes them); on an error nothing new is left in the bucket.
    store_result<object_info> commit(const std::string& bucket, object_info info,
                                     const std::vector<std::filesystem::path>& sources,
                                     const write_precondition& precondition);

    std::filesystem::path root_;
    mutable std::array<std::mutex, 64> key_mutexes_;
    /// Serialize a part's commit with its upload's completion (indexed by the upload id's hash).
    std::mutex& upload_mutex(std::string_view upload_id) const;
    mutable std::array<std::mutex, 16> upload_mutexes_;
    std::mutex bucket_mutex_;
};

/// A random lowercase hex string of `bytes` random bytes (RAND_bytes).
[[nodiscard]] std::string random_hex(std::size_t bytes);

}  // namespace presign::local
