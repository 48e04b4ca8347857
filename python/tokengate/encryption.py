"""A pyarrow ``KmsClient`` whose keys are wrapped and unwrapped by tokengate's HSM.

tokengate writes Parquet Modular Encryption (PME) files whose data keys (DEKs) come from the
HSM's random generator and are wrapped inside the HSM by the at-rest key. Each key's metadata is
the standard PKMT1 key material, so stock pyarrow reads such a file with ``CryptoFactory`` and
this client: pyarrow calls :meth:`TokengateKmsClient.unwrap_key` with the material's
``wrappedDEK`` and ``masterKeyID``, and the client asks ``tokengate keys unwrap`` (a subprocess,
audited and authorized like ``tokengate open``) for the DEK. Nothing secret goes on a command
line: the wrapped key goes in on standard input and the key comes back on standard output.

Example::

    import pyarrow.parquet as pq
    from tokengate.encryption import crypto_factory, decryption_properties

    table = pq.read_table("feed.parquet", decryption_properties=decryption_properties())

The same client lets pyarrow *write* PME files whose DEKs tokengate wraps
(:func:`encryption_properties`); tokengate opens those too.

Server mode: where a ``tokengate serve`` holds the PINs, the client unwraps through it instead
(``POST /v1/tokengate/keys/unwrap``, allowed to roles with operation ``unwrap``, audited as
``keys unwrap`` with the client and role), with only the standard library (``urllib``, ``ssl``)::

    props = decryption_properties(server={
        "url": "https://tokengate.internal:8200", "token_env": "TOKENGATE_TOKEN",
        "ca_file": "/etc/tokengate/ca.pem"})

``server`` keys: ``url``; the bearer token from ``token_env`` (an environment variable's name) or
``token_file``; ``ca_file``; ``cert_file`` and ``key_file`` for mutual TLS. Wrapping (writing
PME files from pyarrow) stays with the binary.
"""

import base64
import json
import os
import ssl
import subprocess
import threading
import urllib.error
import urllib.request

import pyarrow.parquet.encryption as pe

__all__ = [
    "TokengateKmsClient",
    "TokengateError",
    "crypto_factory",
    "decryption_properties",
    "encryption_configuration",
    "encryption_properties",
]


class TokengateError(RuntimeError):
    """``tokengate`` refused or failed (its message is in the exception)."""


class TokengateKmsClient(pe.KmsClient):
    """Wraps and unwraps Parquet data keys through the ``tokengate`` binary.

    :param binary: the ``tokengate`` executable (default: ``$TOKENGATE_BIN``, else ``tokengate``
        on ``PATH``).
    :param keyring: the keyring config (default: ``$TOKENGATE_KEYRING``, else tokengate's own
        default). PINs are never passed: tokengate reads them from the sources its config names.
    :param env: extra environment variables for the subprocess (e.g. ``TOKENGATE_AUDIT_LOG``).
    :param timeout: seconds before a call is abandoned.
    :param server: unwrap through a ``tokengate serve`` instead of the binary: ``{"url",
        "token_env" or "token_file", "ca_file", "cert_file", "key_file"}`` (see the module doc).
    """

    def __init__(self, kms_connection_config=None, binary=None, keyring=None, env=None, timeout=60, server=None):
        pe.KmsClient.__init__(self)
        self.server = dict(server) if server else None
        if self.server is not None and not self.server.get("url"):
            raise TokengateError("server mode needs a url")
        self.binary = binary or os.environ.get("TOKENGATE_BIN") or "tokengate"
        self.keyring = keyring or os.environ.get("TOKENGATE_KEYRING")
        self.env = dict(env or {})
        self.timeout = timeout
        # pyarrow asks for a column's key once per column chunk, from several threads: each
        # distinct wrapped key is unwrapped (one audited `keys unwrap`) once per client. pyarrow
        # drops its clients, and with them these keys, after the decryption configuration's
        # cache_lifetime.
        self._lock = threading.Lock()
        self._keys = {}

    def _run(self, verb, master_key_identifier, stdin_text):
        args = [self.binary, "keys", verb, "--master-key-id", master_key_identifier]
        if self.keyring:
            args += ["--keyring", self.keyring]
        env = dict(os.environ)
        env.update(self.env)
        p = subprocess.run(
            args, input=stdin_text.encode("ascii"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, timeout=self.timeout, check=False)
        if p.returncode != 0:
            raise TokengateError(
                "tokengate keys %s failed (exit %d): %s" % (verb, p.returncode, p.stderr.decode("utf-8", "replace").strip()))
        return p.stdout.decode("ascii").strip()

    def _server_unwrap(self, wrapped_key, master_key_identifier):
        """``POST /v1/tokengate/keys/unwrap`` on the configured server; the key, base64."""
        s = self.server
        token = None
        if s.get("token_env"):
            token = os.environ.get(s["token_env"])
            if not token:
                raise TokengateError("environment variable %s (the server's bearer token) is not set" % s["token_env"])
        elif s.get("token_file"):
            with open(s["token_file"], encoding="utf-8") as f:
                token = f.read().strip()
        url = s["url"].rstrip("/") + "/v1/tokengate/keys/unwrap"
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        body = json.dumps({"master_key_id": master_key_identifier, "wrapped_key": wrapped_key}).encode("ascii")
        context = None
        if url.startswith("https:"):
            context = ssl.create_default_context(cafile=s.get("ca_file"))
            if s.get("cert_file"):
                context.load_cert_chain(s["cert_file"], s.get("key_file"))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, context=context, timeout=self.timeout) as r:
                answer = json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                errors = json.loads(e.read()).get("errors")
            except ValueError:
                errors = None
            raise TokengateError("tokengate serve refused the unwrap (HTTP %d): %s" % (e.code, "; ".join(errors or [e.reason]))) from None
        except urllib.error.URLError as e:
            raise TokengateError("cannot reach tokengate serve at %s: %s" % (s["url"], e.reason)) from None
        try:
            return answer["data"]["key"]
        except (KeyError, TypeError):
            raise TokengateError("tokengate serve answered the unwrap without data.key") from None

    def unwrap_key(self, wrapped_key, master_key_identifier):
        """The DEK (bytes) of a ``wrappedDEK`` (base64 envelope), unwrapped inside the HSM."""
        k = (master_key_identifier, wrapped_key)
        with self._lock:
            dek = self._keys.get(k)
            if dek is None:
                if self.server is not None:
                    text = self._server_unwrap(wrapped_key, master_key_identifier)
                else:
                    text = self._run("unwrap", master_key_identifier, wrapped_key)
                dek = base64.b64decode(text, validate=True)
                self._keys[k] = dek
            return dek

    def wrap_key(self, key_bytes, master_key_identifier):
        """A DEK (32 bytes) wrapped inside the HSM by the at-rest key ``master_key_identifier``."""
        if self.server is not None:
            raise TokengateError("wrapping through tokengate serve is not offered: write PME files with the binary's client")
        if len(key_bytes) != 32:
            raise TokengateError(
                "tokengate wraps 256-bit data keys: set data_key_length_bits=256 (encryption_configuration() does)")
        return self._run("wrap", master_key_identifier, base64.b64encode(bytes(key_bytes)).decode("ascii"))


def crypto_factory(binary=None, keyring=None, env=None, server=None):
    """A ``pyarrow.parquet.encryption.CryptoFactory`` whose KMS is tokengate (the binary, or a
    ``tokengate serve`` when ``server`` is given)."""
    return pe.CryptoFactory(lambda cfg: TokengateKmsClient(cfg, binary=binary, keyring=keyring, env=env, server=server))


def decryption_properties(binary=None, keyring=None, env=None, cache_lifetime=None, server=None):
    """``FileDecryptionProperties`` for ``pq.read_table`` / ``pq.ParquetFile``."""
    factory = crypto_factory(binary, keyring, env, server)
    config = pe.DecryptionConfiguration() if cache_lifetime is None else pe.DecryptionConfiguration(cache_lifetime=cache_lifetime)
    return factory.file_decryption_properties(pe.KmsConnectionConfig(), config)


def encryption_configuration(footer_key="at-rest/datasets", column_keys=None, plaintext_footer=False, algorithm="AES_GCM_V1"):
    """An ``EncryptionConfiguration`` tokengate can open: 256-bit DEKs, single wrapping.

    :param footer_key: the at-rest key (``at-rest/NAME``) that wraps the footer key.
    :param column_keys: ``{"at-rest/NAME": ["column", ...]}``; other columns use the footer key.
    :param algorithm: ``AES_GCM_V1`` (default) or ``AES_GCM_CTR_V1``.
    """
    columns = dict(column_keys or {})
    return pe.EncryptionConfiguration(
        footer_key=footer_key, column_keys=columns, uniform_encryption=not columns,
        encryption_algorithm=algorithm, plaintext_footer=plaintext_footer,
        double_wrapping=False, data_key_length_bits=256)


def encryption_properties(footer_key="at-rest/datasets", column_keys=None, plaintext_footer=False, binary=None, keyring=None, env=None,
                          algorithm="AES_GCM_V1"):
    """``FileEncryptionProperties`` for ``pq.write_table`` / ``pq.ParquetWriter``."""
    factory = crypto_factory(binary, keyring, env)
    return factory.file_encryption_properties(
        pe.KmsConnectionConfig(), encryption_configuration(footer_key, column_keys, plaintext_footer, algorithm))
