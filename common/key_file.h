#pragma once
// Key files: one key per line in the 44-character text form, as WireGuard
// keeps them. A private key file must be private to its owner (refused
// otherwise, as ssh does) and is created with mode 0600.

#include <string>

#include "common/file_owner.h"
#include "common/x25519_key.h"

namespace knock {

/// Reads a private key file. Refuses a file owned by anyone but root or the
/// account reading it (who could replace the key), and a file that others
/// may read or write, naming it and its mode: `/x/server.key: private key file
/// is readable by others (mode 0644); run: chmod 600 /x/server.key`. Errors
/// never quote the file's content; every buffer that held it is wiped.
bool ReadPrivateKeyFile(const std::string& path, PrivateKey* out,
                        std::string* err);

/// The same, and the file must belong to root, to the account reading it
/// or to `account` (the daemon's, when root reads a key the daemon owns):
/// `/x/server.key: private key file is owned by uid 1234, not by root or
/// the account reading it; run: chown root /x/server.key`.
bool ReadPrivateKeyFile(const std::string& path, OwnerId account,
                        PrivateKey* out, std::string* err);

/// Creates `path` with mode 0600 holding the key and a newline, creating
/// missing parent directories with mode 0700. Never overwrites a file.
bool WritePrivateKeyFile(const std::string& path, const PrivateKey& key,
                         std::string* err);

/// Reads a public key file (one line; no permission check: it is public).
bool ReadPublicKeyFile(const std::string& path, PublicKey* out,
                       std::string* err);

}  // namespace knock
