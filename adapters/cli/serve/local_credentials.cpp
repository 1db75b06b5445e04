// SPDX-License-Identifier: Apache-2.0
#include "local_credentials.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include <presign/token.hpp>

namespace presign::serve {
namespace fs = std::filesystem;
namespace {

/// `length` characters drawn uniformly from `alphabet` with RAND_bytes (rejection sampling).
sigv4::result<std::string, std::string> random_text(std::size_t length, std::string_view alphabet) {
    std::string out;
    const unsigned limit = 256 - (256 % static_cast<unsigned>(alphabet.size()));
    std::array<unsigned char, 64> bytes{};
    while (out.size() < length) {
        if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
            return sigv4::unexpected{std::string("the system random generator failed")};
        }
        for (const unsigned char b : bytes) {
            if (b < limit && out.size() < length) out += alphabet[b % alphabet.size()];
        }
    }
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return out;
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

bool write_private_file(const fs::path& path, const std::string& text, std::string& error) {
    const fs::path temp = path.string() + ".tmp";
    const int fd =
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        error = "cannot create " + temp.string() + ": " + std::strerror(errno);
        return false;
    }
    ::fchmod(fd, 0600);
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    const bool ok = written == text.size() && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        error = "cannot write " + path.string() + ": " + std::strerror(errno);
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

}  // namespace

sigv4::result<bool, std::string> create_private_directory(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec)) return false;  // someone else's: its mode is left alone
    if (dir.has_parent_path()) fs::create_directories(dir.parent_path(), ec);
    if (ec || (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)) {
        return sigv4::unexpected{"cannot create " + dir.string() + ": " +
                                 (ec ? ec.message() : std::string(std::strerror(errno)))};
    }
    return true;
}

sigv4::result<local_credentials, std::string> load_or_create_local_credentials(
    const fs::path& data_dir, const std::string& s3_endpoint, const std::string& region) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return sigv4::unexpected{"cannot create " + data_dir.string() + ": " + ec.message()};
    const fs::path dir = fs::absolute(data_dir, ec).lexically_normal();
    local_credentials out;
    out.credentials_file = dir / "credentials";
    out.config_file = dir / "aws-config";

    std::string access_key_id;
    std::string secret;
    std::ifstream in(out.credentials_file);
    if (in) {
        struct stat info {};
        if (::stat(out.credentials_file.c_str(), &info) == 0 && (info.st_mode & 0077) != 0) {
            ::chmod(out.credentials_file.c_str(), 0600);  // someone loosened it: tighten again
        }
        std::string line;
        while (std::getline(in, line)) {
            const auto equals = line.find('=');
            if (equals == std::string::npos) continue;
            const std::string name = trim(std::string_view(line).substr(0, equals));
            const std::string value = trim(std::string_view(line).substr(equals + 1));
            if (name == "aws_access_key_id") access_key_id = value;
            if (name == "aws_secret_access_key") secret = value;
        }
        OPENSSL_cleanse(line.data(), line.size());
        if (access_key_id.empty() || secret.empty()) {
            return sigv4::unexpected{out.credentials_file.string() +
                                     " has no aws_access_key_id/aws_secret_access_key; delete it "
                                     "to generate new local credentials"};
        }
    } else {
        auto id = random_text(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        auto key =
            random_text(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
        if (!id) return sigv4::unexpected{id.error()};
        if (!key) return sigv4::unexpected{key.error()};
        access_key_id = "PSLK" + *id;
        secret = std::move(*key);
        std::string text =
            "# presign serve: credentials of the local S3 store (generated, keep private)\n[" +
            std::string(local_profile) + "]\naws_access_key_id = " + access_key_id +
            "\naws_secret_access_key = " + secret + "\n";
        std::string error;
        const bool written = write_private_file(out.credentials_file, text, error);
        OPENSSL_cleanse(text.data(), text.size());
        if (!written) return sigv4::unexpected{error};
        out.created = true;
    }
    auto made = sigv4::credentials::make(access_key_id, secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    if (!made) {
        return sigv4::unexpected{out.credentials_file.string() + ": " + made.error().message};
    }
    out.credentials = std::move(made).value();

    const std::string config =
        "# presign serve: AWS CLI / SDK profile for the local S3 store\n[profile " +
        std::string(local_profile) + "]\nregion = " + region + "\nendpoint_url = " + s3_endpoint +
        "\ns3 =\n    signature_version = s3v4\n    addressing_style = path\n";
    std::string error;
    if (!write_private_file(out.config_file, config, error)) return sigv4::unexpected{error};
    return out;
}

namespace {

/// The first line of a private file, tightened to 0600 when someone loosened it; nullopt if absent.
std::optional<std::string> read_private_line(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return std::nullopt;
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0 && (info.st_mode & 0077) != 0) ::chmod(file.c_str(), 0600);
    std::string line;
    std::getline(in, line);
    std::string text = trim(line);
    OPENSSL_cleanse(line.data(), line.size());
    return text;
}

}  // namespace

sigv4::result<link_secret_files, std::string> load_or_create_link_secret(const fs::path& data_dir) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return sigv4::unexpected{"cannot create " + data_dir.string() + ": " + ec.message()};
    const fs::path dir = fs::absolute(data_dir, ec).lexically_normal();
    link_secret_files out;
    out.file = dir / "link-secret";
    if (auto text = read_private_line(out.file)) {
        out.current = std::move(*text);
    } else {
        // The file is created 0600; the directory's mode is its owner's (create_private_directory
        // made it 0700 when serve created it).
        auto generated = token::secret::generate_text();
        if (!generated) return sigv4::unexpected{std::string("the system random generator failed")};
        std::string error;
        const bool written = write_private_file(out.file, *generated + "\n", error);
        if (!written) {
            OPENSSL_cleanse(generated->data(), generated->size());
            return sigv4::unexpected{error};
        }
        out.current = std::move(*generated);
        out.created = true;
    }
    if (!token::secret::from_text(out.current)) {
        return sigv4::unexpected{
            out.file.string() +
            " does not hold a secret of 32..4096 characters; delete it "
            "to generate a new one (every share link made so far stops working)"};
    }
    out.previous = read_private_line(dir / "link-secret.previous");
    if (out.previous && !token::secret::from_text(*out.previous)) {
        return sigv4::unexpected{(dir / "link-secret.previous").string() +
                                 " does not hold a secret of 32..4096 characters"};
    }
    return out;
}

}  // namespace presign::serve
