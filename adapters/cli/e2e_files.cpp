// SPDX-License-Identifier: Apache-2.0
#include "e2e_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli_support.hpp"
#include "commands.hpp"

namespace presign::cli {
namespace {

constexpr std::size_t block_size = 1 << 20;

[[noreturn]] void fail_io(const std::string& what) {
    throw cli_error(exit_code::io, what + ": " + std::strerror(errno));
}

[[noreturn]] void fail_decrypt(const e2e::error& error) {
    throw cli_error(exit_code::decrypt_failed, "cannot decrypt (" +
                                                   std::string(e2e::to_string(error.code)) +
                                                   "): " + error.message + "; nothing was saved");
}

std::string directory_of(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

// Reads `path` in blocks, calling `consume` with each.
template <class Consume>
void read_blocks(const std::string& path, Consume&& consume) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_io("cannot open " + path);
    e2e::bytes block(block_size);
    for (;;) {
        const ssize_t got = ::read(fd, block.data(), block.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int saved = errno;
            ::close(fd);
            errno = saved;
            fail_io("cannot read " + path);
        }
        if (got == 0) break;
        try {
            consume(std::span<const std::uint8_t>(block.data(), static_cast<std::size_t>(got)));
        } catch (...) {
            ::close(fd);
            throw;
        }
    }
    ::close(fd);
}

e2e::decryptor make_decryptor(const e2e::secret& key) {
    auto made = e2e::decryptor::make(key);
    if (!made) throw cli_error(exit_code::internal, made.error().message);
    return std::move(made).value();
}

}  // namespace

// ---- output_file ------------------------------------------------------------------------------

output_file::output_file(std::string path, bool overwrite)
    : path_(std::move(path)), overwrite_(overwrite) {
    std::string pattern = directory_of(path_) + "/.presign-XXXXXX.part";
    fd_ = ::mkstemps(pattern.data(), 5);
    if (fd_ < 0) fail_io("cannot create a file in " + directory_of(path_));
    temporary_ = pattern;
}

output_file::~output_file() {
    if (fd_ >= 0) ::close(fd_);
    if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void output_file::write(std::span<const std::uint8_t> data) {
    while (!data.empty()) {
        const ssize_t wrote = ::write(fd_, data.data(), data.size());
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0) fail_io("cannot write " + temporary_);
        data = data.subspan(static_cast<std::size_t>(wrote));
        written_ += static_cast<std::uint64_t>(wrote);
    }
}

void output_file::commit(const std::optional<std::string>& final_path) {
    const std::string& target = final_path ? *final_path : path_;
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
        fd_ = -1;
        fail_io("cannot write " + temporary_);
    }
    fd_ = -1;
    const int renamed = overwrite_ ? ::rename(temporary_.c_str(), target.c_str())
                                   : ::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD,
                                                 target.c_str(), RENAME_NOREPLACE);
    if (renamed != 0) {
        if (errno == EEXIST) {
            throw cli_error(exit_code::io,
                            target + " exists; name the output with -o to replace it");
        }
        fail_io("cannot rename the output to " + target);
    }
    temporary_.clear();
}

// ---- decrypting_writer ------------------------------------------------------------------------

decrypting_writer::decrypting_writer(const e2e::secret& key, std::optional<std::string> output,
                                     std::string directory, std::string fallback_name)
    : key_(key),
      decryptor_(make_decryptor(key)),
      output_(std::move(output)),
      directory_(std::move(directory)),
      fallback_name_(e2e::safe_file_name(fallback_name)),
      file_(output_ ? *output_ : directory_ + "/" + fallback_name_, output_.has_value()) {
    plaintext_.reserve(block_size + e2e::max_record_size);
}

void decrypting_writer::check_header() {
    const auto& header = decryptor_.parsed_header();
    if (header_checked_ || !header) return;
    header_checked_ = true;
    if (header->keyid.empty()) return;  // another RFC 8188 encoder: no name stored
    auto opened = e2e::open_metadata(key_, header->salt, header->keyid);
    if (!opened) fail_decrypt(opened.error());
    metadata_ = std::move(*opened);
}

void decrypting_writer::update(std::span<const std::uint8_t> ciphertext) {
    plaintext_.clear();
    // The header (at most 276 bytes) goes in byte by byte, so the metadata is checked before any
    // record, as the page does: a changed salt reads as metadata_invalid in both.
    while (!decryptor_.parsed_header() && !ciphertext.empty()) {
        auto step = decryptor_.update(ciphertext.first(1), plaintext_);
        if (!step) fail_decrypt(step.error());
        ciphertext = ciphertext.subspan(1);
    }
    check_header();
    auto step = decryptor_.update(ciphertext, plaintext_);
    if (!step) fail_decrypt(step.error());
    check_header();
    file_.write(plaintext_);
    OPENSSL_cleanse(plaintext_.data(), plaintext_.size());
}

std::string decrypting_writer::finish() {
    plaintext_.clear();
    auto last = decryptor_.finish(plaintext_);
    if (!last) fail_decrypt(last.error());
    check_header();
    file_.write(plaintext_);
    OPENSSL_cleanse(plaintext_.data(), plaintext_.size());
    if (metadata_ && metadata_->size != file_.written()) {
        fail_decrypt({e2e::errc::size_mismatch,
                      "the file decrypts to " + std::to_string(file_.written()) +
                          " bytes, its metadata says " + std::to_string(metadata_->size)});
    }
    std::string path =
        output_ ? *output_
                : directory_ + "/" +
                      (metadata_ ? e2e::safe_file_name(metadata_->name) : fallback_name_);
    file_.commit(path);
    return path;
}

// ---- the commands -----------------------------------------------------------------------------

e2e::secret parse_secret_option(const std::string& given) {
    std::string text = given;
    if (text == "-") {
        if (!std::getline(std::cin, text)) throw cli_error(exit_code::io, "no key on stdin");
    }
    if (const auto hash = text.rfind('#'); hash != std::string::npos) text = text.substr(hash + 1);
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.pop_back();
    auto parsed = e2e::secret::from_base64url(text);
    OPENSSL_cleanse(text.data(), text.size());
    if (!parsed) throw cli_error(exit_code::invalid_input, "--key: " + parsed.error().message);
    return *parsed;
}

int run_encrypt(const encrypt_options& options) {
    struct stat info {};
    if (::stat(options.file.c_str(), &info) != 0) fail_io("cannot read " + options.file);
    if (!S_ISREG(info.st_mode))
        throw cli_error(exit_code::invalid_input, options.file + " is not a regular file");
    const auto plaintext_size = static_cast<std::uint64_t>(info.st_size);

    e2e::file_metadata metadata;
    metadata.name =
        options.name ? *options.name : std::filesystem::path(options.file).filename().string();
    metadata.type =
        options.type ? *options.type : std::string(media_type_for_file_name(metadata.name));
    metadata.size = plaintext_size;
    metadata = e2e::fit_metadata(std::move(metadata));

    auto key = e2e::secret::generate();
    auto salt = e2e::random_salt();
    if (!key || !salt) throw cli_error(exit_code::internal, "the random generator failed");
    auto keyid = e2e::seal_metadata(*key, *salt, metadata);
    if (!keyid) throw cli_error(exit_code::internal, keyid.error().message);
    auto encryptor = e2e::encryptor::make(*key, *salt, *keyid);
    if (!encryptor) throw cli_error(exit_code::internal, encryptor.error().message);
    const auto expected =
        e2e::encrypted_size(plaintext_size, e2e::default_record_size, keyid->size());

    output_file out(options.output, true);
    e2e::bytes ciphertext;
    ciphertext.reserve(block_size + 2 * e2e::default_record_size);
    std::uint64_t read_total = 0;
    read_blocks(options.file, [&](std::span<const std::uint8_t> block) {
        read_total += block.size();
        ciphertext.clear();
        if (!encryptor->update(block, ciphertext))
            throw cli_error(exit_code::internal, "encryption failed");
        out.write(ciphertext);
    });
    ciphertext.clear();
    if (!encryptor->finish(ciphertext)) throw cli_error(exit_code::internal, "encryption failed");
    out.write(ciphertext);
    if (read_total != plaintext_size || out.written() != *expected) {
        throw cli_error(exit_code::io, options.file + " changed while it was encrypted");
    }
    out.commit();
    std::string line = key->to_base64url() + "\n";
    write_all(STDOUT_FILENO, line);
    OPENSSL_cleanse(line.data(), line.size());
    return exit_code::ok;
}

int run_decrypt(const decrypt_options& options) {
    const auto key = parse_secret_option(options.key);
    decrypting_writer writer(key, options.output, ".",
                             std::filesystem::path(options.file).stem().string());
    read_blocks(options.file, [&](std::span<const std::uint8_t> block) { writer.update(block); });
    const std::string path = writer.finish();
    if (!options.output) write_all(STDOUT_FILENO, path + "\n");
    return exit_code::ok;
}

}  // namespace presign::cli
