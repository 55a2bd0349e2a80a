#!/usr/bin/env bash
# make-test-ca.sh OUTDIR — throw-away certificates for the server's
# integration tests (tests/server/test-api.py), made with the openssl
# command line at test time so that no key is ever committed and no test
# ever turns peer verification off.
#
# Writes into OUTDIR (created if missing):
#   ca.pem, ca-key.pem                  a test CA
#   server.pem, server-key.pem          a server certificate from it for
#                                       127.0.0.1 and localhost (subjectAltName
#                                       IP and DNS), serverAuth
#   other-ca.pem                        a second, unrelated CA (its key is
#   other-server.pem, other-server-key.pem  thrown away), and a server
#                                       certificate from it for the same names:
#                                       "a certificate from a CA the client
#                                       does not trust"
#   expired.pem, expired-key.pem        a server certificate from the first CA
#                                       for the same names whose validity
#                                       ended in 2020
#
# Keys are EC P-256, mode 0600.  Certificates are valid for 7 days (the
# expired one: 2020-01-01 to 2020-01-02).  openssl 3.0 (Debian 12) cannot
# give `x509 -days` a date in the past and has no -not_before/-not_after
# (they came in 3.4), so the expired certificate is signed by `openssl ca`
# with -startdate/-enddate, which needs its small database in a scratch
# folder, removed afterwards.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "Usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
cd "$out"
umask 077

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mts-test-ca.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

SAN="subjectAltName=IP:127.0.0.1,DNS:localhost"

newkey() {  # FILE: an EC P-256 private key (PKCS#8 PEM), mode 0600
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 0600 "$1"
}

serial() {  # a random positive 64-bit serial number, as 0x hex
  echo "0x$(openssl rand -hex 8)"
}

newca() {  # CERT KEY CN: a self-signed CA
  newkey "$2"
  openssl req -x509 -new -key "$2" -out "$1" -days 7 -sha256 -subj "/CN=$3" \
    -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

cat > "$scratch/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
$SAN
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

newserver() {  # CERT KEY CA_CERT CA_KEY: a server certificate for 127.0.0.1 and localhost
  newkey "$2"
  openssl req -new -key "$2" -subj "/CN=127.0.0.1" -out "$scratch/server.csr" 2>/dev/null
  openssl x509 -req -in "$scratch/server.csr" -CA "$3" -CAkey "$4" -set_serial "$(serial)" \
    -days 7 -sha256 -extfile "$scratch/server.ext" -out "$1" 2>/dev/null
}

# The test CA and the server's certificate.
newca ca.pem ca-key.pem "MTS test CA"
newserver server.pem server-key.pem ca.pem ca-key.pem

# An unrelated CA and a certificate from it; its key is not kept.
newca other-ca.pem "$scratch/other-ca-key.pem" "MTS other test CA"
newserver other-server.pem other-server-key.pem other-ca.pem "$scratch/other-ca-key.pem"

# A certificate from the test CA whose validity ended long ago.
mkdir "$scratch/db"
: > "$scratch/db/index.txt"
openssl rand -hex 8 > "$scratch/db/serial"
cat > "$scratch/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $scratch/db/index.txt
new_certs_dir = $scratch/db
serial = $scratch/db/serial
certificate = $PWD/ca.pem
private_key = $PWD/ca-key.pem
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = server_ext
[ anything ]
commonName = supplied
[ server_ext ]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
$SAN
EOF
newkey expired-key.pem
openssl req -new -key expired-key.pem -subj "/CN=127.0.0.1" -out "$scratch/expired.csr" 2>/dev/null
openssl ca -batch -notext -config "$scratch/ca.cnf" -in "$scratch/expired.csr" -out expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z 2>"$scratch/ca.log" \
  || { cat "$scratch/ca.log" >&2; exit 1; }

chmod 0644 ca.pem server.pem other-ca.pem other-server.pem expired.pem
