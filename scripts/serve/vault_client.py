#!/usr/bin/env python3
"""Calls `tokengate serve` with hvac, the Python Vault client, as an existing Vault Transform
user would (tests: Tests/ServerTests). Prints one JSON object with what each call returned.

usage: vault_client.py MODE URL [options as JSON]
  roundtrip  {"token", "role", "transformation", "values": [...], "mount_point"?}
                                                                     token lookup, encode/decode single and batch, /metrics before and after
  refusals   {"tokens": {...}, "role", "decode_role", "value"}          status codes of refused calls
  mtls       {"ca", "cert", "key", "role", "value", "san_cert"?, ...}   encode over mutual TLS
  records    {"token", "encoder_token", "policy", "values"}              /v1/tokenize and /v1/detokenize
  posts      {"requests": [{"token", "path", "body"}]}                  raw POSTs, their statuses
  load       {"token", "role", "value", "threads", "seconds", "rounds"?} encode in a loop until refused
  pme        {"token", "file"}                                          pyarrow reads a PME file, KmsClient → server
"""
import json
import os
import sys
import threading
import time

import hvac
import requests


def client(url, token=None, **kw):
    return hvac.Client(url=url, token=token, **kw)


def status_of(fn):
    """The HTTP status an hvac call ended with (200 when it returned)."""
    try:
        fn()
        return 200
    except hvac.exceptions.VaultError as e:
        # hvac raises one exception class per status (hvac.exceptions.VaultError.from_status).
        by_class = {"InvalidRequest": 400, "Unauthorized": 401, "Forbidden": 403, "InvalidPath": 404, "InternalServerError": 500}
        return by_class.get(type(e).__name__, type(e).__name__)
    except requests.exceptions.RequestException as e:
        return "connection:" + type(e).__name__


def roundtrip(url, o):
    c = client(url, o["token"])
    t = c.secrets.transform
    mp = o.get("mount_point", "transform")
    out = {"health": c.sys.read_health_status(method="GET")}
    # What a Vault client checks first: its token (GET /v1/auth/token/lookup-self).
    out["authenticated"] = c.is_authenticated()
    out["lookup"] = c.lookup_token()["data"]
    out["stranger_authenticated"] = client(url, "not-a-token").is_authenticated()
    out["metrics_before"] = requests.get(url + "/metrics").text
    single = [t.encode(role_name=o["role"], value=v, transformation=o["transformation"], mount_point=mp)["data"]["encoded_value"] for v in o["values"]]
    out["single"] = single
    out["single_decoded"] = [
        t.decode(role_name=o["role"], value=tok, transformation=o["transformation"], mount_point=mp)["data"]["decoded_value"] for tok in single
    ]
    batch = [{"value": v, "transformation": o["transformation"], "reference": "ref-%d" % i} for i, v in enumerate(o["values"])]
    out["batch"] = t.encode(role_name=o["role"], batch_input=batch, mount_point=mp)["data"]["batch_results"]
    back = [{"value": r["encoded_value"], "transformation": o["transformation"], "reference": r.get("reference")} for r in out["batch"]]
    out["batch_decoded"] = t.decode(role_name=o["role"], batch_input=back, mount_point=mp)["data"]["batch_results"]
    if o.get("mixed"):
        # Two transformations and a value the transform refuses, in one batch.
        v = o["values"]
        mixed = [{"value": v[0], "transformation": "card", "reference": "a"}, {"value": v[1], "transformation": "card-hsm"},
                 {"value": "not-a-card", "transformation": "card", "reference": "c\"q"}, {"value": v[2], "transformation": "card"}]
        out["mixed"] = t.encode(role_name=o["role"], batch_input=mixed, mount_point=mp)["data"]["batch_results"]
    out["metrics_after"] = requests.get(url + "/metrics").text
    return out


def refusals(url, o):
    tokens, role, value = o["tokens"], o["role"], o["value"]
    enc = client(url, tokens["encoder"]).secrets.transform
    out = {
        "decode_without_decode": status_of(lambda: enc.decode(role_name=o["decode_role"], value=value)),
        "decode_on_encode_role": status_of(lambda: enc.decode(role_name=role, value=value)),
        "wrong_token": status_of(lambda: client(url, "not-a-token").secrets.transform.encode(role_name=role, value=value)),
        "no_token": status_of(lambda: client(url).secrets.transform.encode(role_name=role, value=value)),
        "unknown_role": status_of(lambda: enc.encode(role_name="no-such-role", value=value)),
        "unknown_transformation": status_of(lambda: enc.encode(role_name=role, value=value, transformation="no-such-transformation")),
        "tweak": status_of(lambda: enc.encode(role_name=role, value=value, tweak="abcd")),
    }
    # Raw HTTP for what hvac cannot send: malformed JSON and an oversized body.
    h = {"X-Vault-Token": tokens["encoder"]}
    out["malformed_json"] = requests.post(url + "/v1/transform/encode/" + role, data=b"{\"value\": ", headers=h).status_code
    big = json.dumps({"value": "4" * (o["max_body"] + 10)})
    try:
        out["oversized"] = requests.post(url + "/v1/transform/encode/" + role, data=big, headers=h).status_code
    except requests.exceptions.RequestException as e:
        out["oversized"] = "connection:" + type(e).__name__
    r = requests.post(url + "/v1/transform/encode/" + role, data=b"{\"value\": ", headers=h)
    out["malformed_json_body"] = r.json()
    out["metrics"] = requests.get(url + "/metrics").text
    return out


def mtls(url, o):
    out = {}
    c = client(url, cert=(o["cert"], o["key"]), verify=o["ca"])
    out["encoded"] = c.secrets.transform.encode(role_name=o["role"], value=o["value"])["data"]["encoded_value"]
    out["no_certificate"] = status_of(lambda: client(url, verify=o["ca"]).secrets.transform.encode(role_name=o["role"], value=o["value"]))
    if o.get("rogue_cert"):
        out["rogue_certificate"] = status_of(
            lambda: client(url, cert=(o["rogue_cert"], o["rogue_key"]), verify=o["ca"]).secrets.transform.encode(role_name=o["role"], value=o["value"])
        )
    if o.get("san_cert"):
        s = client(url, cert=(o["san_cert"], o["san_key"]), verify=o["ca"])
        out["san_encoded"] = s.secrets.transform.encode(role_name=o["role"], value=o["value"])["data"]["encoded_value"]
    return out


def records(url, o):
    """The native record endpoints (plain HTTP with requests: hvac has no call for them)."""
    h = {"X-Vault-Token": o["token"]}
    recs = [{"card_number": v, "name": "n%d" % i, "memo": "dropped"} for i, v in enumerate(o["values"])]
    t = requests.post(url + "/v1/tokenize", json={"policy": o["policy"], "records": recs}, headers=h)
    out = {"tokenize_status": t.status_code, "tokenized": t.json()}
    back = t.json().get("records", [])
    d = requests.post(url + "/v1/detokenize", json={"policy": o["policy"], "records": back}, headers=h)
    out["detokenize_status"] = d.status_code
    out["detokenized"] = d.json()
    out["unnamed"] = requests.post(url + "/v1/tokenize", json={"policy": o["policy"], "records": [{"other": "1"}]}, headers=h).status_code
    enc = {"X-Vault-Token": o["encoder_token"]}
    out["encoder_detokenize"] = requests.post(url + "/v1/detokenize", json={"policy": o["policy"], "records": back}, headers=enc).status_code
    out["unknown_policy"] = requests.post(url + "/v1/tokenize", json={"policy": "nope", "records": recs}, headers=h).status_code
    return out


def posts(url, o):
    """Raw POSTs: [{"token", "path", "body"}] → their statuses."""
    return {"statuses": [requests.post(url + r["path"], data=r["body"], headers={"X-Vault-Token": r["token"]}).status_code for r in o["requests"]]}


def pme(url, o):
    """pyarrow reads a tokengate PME file with the project's KmsClient in server mode."""
    import pyarrow.parquet as pq

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from tokengate.encryption import decryption_properties

    os.environ["TG_TEST_UNWRAP_TOKEN"] = o["token"]
    server = {"url": url, "token_env": "TG_TEST_UNWRAP_TOKEN"}
    try:
        props = decryption_properties(server=server, cache_lifetime=1)
        t = pq.ParquetFile(o["file"], decryption_properties=props).read()
    except Exception as e:  # pyarrow raises OSError with the KmsClient's message
        return {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
    return {"rows": t.num_rows, "columns": {n: [str(v) for v in t[n].to_pylist()] for n in t.column_names}}


def load(url, o):
    """Threads encode until the server stops answering; every response must be whole and right.
    Each thread runs for "seconds", and at least "rounds" requests when given (a loaded machine
    answers few in a second)."""
    results = {"ok": 0, "wrong": 0, "http_errors": [], "refused": 0}
    lock = threading.Lock()
    stop = time.time() + o["seconds"]
    rounds = o.get("rounds", 0)

    def run():
        s = requests.Session()
        h = {"X-Vault-Token": o["token"]}
        made = 0
        while time.time() < stop or made < rounds:
            made += 1
            try:
                r = s.post(url + "/v1/transform/encode/" + o["role"], json={"value": o["value"]}, headers=h, timeout=10)
            except requests.exceptions.RequestException:
                with lock:
                    results["refused"] += 1
                time.sleep(0.01)
                continue
            with lock:
                if r.status_code != 200:
                    results["http_errors"].append(r.status_code)
                elif r.json()["data"]["encoded_value"] == o["expected"]:
                    results["ok"] += 1
                else:
                    results["wrong"] += 1

    ts = [threading.Thread(target=run) for _ in range(o["threads"])]
    print(json.dumps({"started": True}), flush=True)
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


if __name__ == "__main__":
    mode, url = sys.argv[1], sys.argv[2]
    opts = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    print(json.dumps({"roundtrip": roundtrip, "refusals": refusals, "mtls": mtls, "records": records, "posts": posts, "load": load, "pme": pme}[mode](url, opts)))
    # pyarrow's threads can abort a normal interpreter exit after a failed read ("terminate
    # called without an active exception"): the result is printed, leave at once.
    sys.stdout.flush()
    os._exit(0)
