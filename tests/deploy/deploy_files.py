"""The files the deploy tests read, parsed: deploy/k8s/*.yaml, deploy/compose.yaml,
deploy/Dockerfile, deploy/prometheus/*.yaml, the server's configs, and the facts that the server's
own sources define (the readiness service name, the exported metric names), so that the tests
compare the manifests with the server rather than with copies of its values.

SPECD_SOURCE_DIR (set by ctest) is the repository root; without it, this checkout.
"""

import functools
import json
import os
import re

import yaml

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SPECD_SOURCE_DIR", os.path.normpath(os.path.join(_HERE, "..", "..")))
K8S_DIR = os.path.join(SOURCE_DIR, "deploy", "k8s")

# Manifests kept out of kustomization.yaml on purpose (one-off jobs).
ONE_OFF_MANIFESTS = {"load-bundled-model-job.yaml"}


def path(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def read_text(*parts):
    with open(path(*parts)) as f:
        return f.read()


def load_yaml(*parts):
    return yaml.safe_load(read_text(*parts))


def load_json(*parts):
    return json.loads(read_text(*parts))


@functools.lru_cache(maxsize=None)
def k8s_objects():
    """Every object in deploy/k8s/*.yaml (the kustomization excepted), keyed (kind, name); each
    carries the file it came from under "_file"."""
    objects = {}
    for name in sorted(os.listdir(K8S_DIR)):
        if not name.endswith(".yaml") or name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(read_text("deploy", "k8s", name)):
            key = (document["kind"], document["metadata"]["name"])
            if key in objects:
                raise AssertionError(f"{key} is defined twice (deploy/k8s/{name})")
            objects[key] = {**document, "_file": name}
    return objects


def k8s_object(kind, name):
    return k8s_objects()[(kind, name)]


def container(deployment, name):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == name)


def container_port(container_spec, port_name):
    return next(p["containerPort"] for p in container_spec["ports"] if p["name"] == port_name)


def listen_port(server_config):
    """The port of a server config's "listen" ("HOST:PORT")."""
    return int(server_config["listen"].rsplit(":", 1)[1])


def seconds(duration):
    """Seconds in a duration spelled "40s", "2m" or "1m30s" (compose, Envoy), or a number."""
    if isinstance(duration, (int, float)):
        return duration
    parts = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    if not parts or not duration:
        raise ValueError(f"not a duration: {duration!r}")
    return int(parts.group(1) or 0) * 60 + float(parts.group(2) or 0)


# --- the server's own definitions ----------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def readiness_service():
    """kReadinessService in server/specd_server.h."""
    match = re.search(r'kReadinessService\[\] = "([^"]+)"', read_text("server", "specd_server.h"))
    return match.group(1)


@functools.lru_cache(maxsize=None)
def exported_metrics():
    """{metric name: kind} for every specd_* metric that server/metrics/server_metrics.cc
    registers; kind is "gauge", "counter" or "histogram"."""
    source = read_text("server", "metrics", "server_metrics.cc")
    registrations = re.findall(
        r'(AddCallbackGauge|AddGauge|AddCallbackCounter|AddCounter|AddSecondsHistogram|AddHistogram)'
        r'\(\s*(?:registry,\s*)?"(specd_\w+)"', source)
    kinds = {"Gauge": "gauge", "Counter": "counter", "Histogram": "histogram"}
    return {name: next(k for suffix, k in kinds.items() if call.endswith(suffix))
            for call, name in registrations}


def exported_series():
    """The series names Prometheus stores for exported_metrics() (histograms as _bucket, _sum
    and _count)."""
    series = set()
    for name, kind in exported_metrics().items():
        suffixes = ("_bucket", "_sum", "_count") if kind == "histogram" else ("",)
        series.update(name + suffix for suffix in suffixes)
    return series


def specd_names_in(text):
    return set(re.findall(r"\bspecd_[a-z0-9_]+", text))


# --- deploy/Dockerfile --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def dockerfile_instructions():
    """[(INSTRUCTION, arguments)] of deploy/Dockerfile, continuation lines joined, comments
    dropped."""
    logical_lines, pending = [], ""
    for line in read_text("deploy", "Dockerfile").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        logical_lines.append(pending)
        pending = ""
    return [tuple(line.strip().split(None, 1)) for line in logical_lines]


def dockerfile_runtime_stage():
    """The instructions of the final stage (after the last FROM)."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from + 1:]


def dockerfile_value(stage, keyword):
    """The arguments of the stage's only `keyword` instruction."""
    values = [arguments for k, arguments in stage if k == keyword]
    if len(values) != 1:
        raise AssertionError(f"deploy/Dockerfile's runtime stage has {len(values)} {keyword} instructions")
    return values[0]


def exec_form(arguments):
    """A JSON exec form (["a", "b"]) as a list; shell form is refused: signals must reach specd."""
    if not arguments.startswith("["):
        raise AssertionError(f"not an exec form: {arguments}")
    return json.loads(arguments)


def flag_value(argv, flag):
    """The value after `flag` in argv, or None."""
    return argv[argv.index(flag) + 1] if flag in argv else None
