"""deploy/k8s/ agrees with the server: the ConfigMap is configs/serve_gpu.json made to listen on
every interface and to read the model volume; the Deployment's ports, gRPC probes, drain timings,
GPU request, config and model mounts match it; the headless Service, Envoy and the autoscaler
point at the right ports, health service and metric."""

import json
import os
import unittest

import yaml

import deploy_files as files

NAMESPACE = "specd"
# After the drain: the server's last writes (kFinalRpcGrace, 0.5 s), stopping the engine and the
# process exit, with room to spare.
SHUTDOWN_MARGIN_S = 5


def server_config():
    """The config the Deployment serves: serve.json in the specd-config ConfigMap."""
    return json.loads(files.k8s_object("ConfigMap", "specd-config")["data"]["serve.json"])


def specd_deployment():
    return files.k8s_object("Deployment", "specd")


def specd_container():
    return files.container(specd_deployment(), "specd")


def pod_spec():
    return specd_deployment()["spec"]["template"]["spec"]


def mount_path_of(volume_name):
    return next(m["mountPath"] for m in specd_container()["volumeMounts"] if m["name"] == volume_name)


def volume_named(name):
    return next(v for v in pod_spec()["volumes"] if v["name"] == name)


def prestop_sleep_seconds():
    command = specd_container()["lifecycle"]["preStop"]["exec"]["command"]
    if command[0] != "sleep" or len(command) != 2:
        raise AssertionError(f"preStop is not a plain sleep: {command}")
    return float(command[1])


def envoy_config():
    return yaml.safe_load(files.k8s_object("ConfigMap", "specd-envoy-config")["data"]["envoy.yaml"])


def envoy_cluster():
    return next(c for c in envoy_config()["static_resources"]["clusters"] if c["name"] == "specd")


class ServerConfigMapTest(unittest.TestCase):
    def test_is_the_gpu_preset_listening_on_every_interface_and_reading_the_model_volume(self):
        preset = files.load_json("configs", "serve_gpu.json")
        config = server_config()
        self.assertEqual(config["listen"], f"0.0.0.0:{files.listen_port(preset)}")
        models_mount = mount_path_of("models")
        self.assertTrue(config["model"].startswith(models_mount.rstrip("/") + "/"),
                        f"model {config['model']} is not on the model volume ({models_mount})")
        unchanged = {key: value for key, value in config.items() if key not in ("listen", "model")}
        self.assertEqual(unchanged, {key: value for key, value in preset.items() if key not in ("listen", "model")},
                         "configmap.yaml's serve.json differs from configs/serve_gpu.json")

    def test_the_deployment_reads_it_through_specd_config(self):
        environment = {e["name"]: e.get("value") for e in specd_container()["env"]}
        volume = volume_named("config")
        self.assertEqual(volume["configMap"]["name"], "specd-config")
        self.assertEqual(environment["SPECD_CONFIG"], os.path.join(mount_path_of("config"), "serve.json"))

    def test_no_command_line_flag_overrides_it(self):
        self.assertNotIn("command", specd_container(), "the image's entrypoint (specd) must stay")
        self.assertEqual(specd_container()["args"], ["serve"])


class DeploymentTest(unittest.TestCase):
    def test_container_ports_are_the_configs(self):
        config = server_config()
        self.assertEqual(files.container_port(specd_container(), "grpc"), files.listen_port(config))
        self.assertEqual(files.container_port(specd_container(), "metrics"), config["metrics_port"])

    def test_liveness_is_a_grpc_probe_on_the_overall_health(self):
        probe = specd_container()["livenessProbe"]
        self.assertEqual(probe["grpc"]["port"], files.listen_port(server_config()))
        self.assertEqual(probe["grpc"].get("service", ""), "", "liveness is the server's \"\" service")

    def test_readiness_is_a_grpc_probe_on_the_readiness_service(self):
        probe = specd_container()["readinessProbe"]
        self.assertEqual(probe["grpc"]["port"], files.listen_port(server_config()))
        self.assertEqual(probe["grpc"]["service"], files.readiness_service())

    def test_grace_period_covers_prestop_drain_and_shutdown(self):
        grace = pod_spec()["terminationGracePeriodSeconds"]
        needed = prestop_sleep_seconds() + server_config()["drain_timeout_seconds"] + SHUTDOWN_MARGIN_S
        self.assertGreaterEqual(grace, needed, "terminationGracePeriodSeconds must exceed preStop sleep + "
                                "drain_timeout_seconds + shutdown margin")

    def test_prestop_outlasts_envoys_dns_refresh(self):
        # Envoy must stop picking the pod before specd starts refusing calls.
        self.assertGreater(prestop_sleep_seconds(), files.seconds(envoy_cluster()["dns_refresh_rate"]))

    def test_one_gpu_per_replica_for_the_cuda_runner(self):
        self.assertEqual(server_config()["runner"], "cuda")
        resources = specd_container()["resources"]
        self.assertEqual(resources["limits"].get("nvidia.com/gpu"), 1)
        self.assertEqual(resources["requests"].get("nvidia.com/gpu", 1), 1, "GPU requests must equal limits")

    def test_model_volume_is_the_claim_read_only(self):
        claim = volume_named("models")["persistentVolumeClaim"]["claimName"]
        self.assertIn(("PersistentVolumeClaim", claim), files.k8s_objects())
        mount = next(m for m in specd_container()["volumeMounts"] if m["name"] == "models")
        self.assertTrue(mount["readOnly"])

    def test_runs_as_the_images_non_root_user(self):
        security = pod_spec()["securityContext"]
        self.assertTrue(security["runAsNonRoot"])
        image_user = files.dockerfile_value(files.dockerfile_runtime_stage(), "USER")
        self.assertEqual(str(security["runAsUser"]), image_user)

    def test_prometheus_scrapes_the_metrics_port(self):
        annotations = specd_deployment()["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), server_config()["metrics_port"])
        self.assertEqual(annotations["prometheus.io/path"], "/metrics")


class ServiceAndEnvoyTest(unittest.TestCase):
    def service(self):
        return files.k8s_object("Service", "specd")

    def test_service_is_headless_over_the_replicas(self):
        service = self.service()
        self.assertEqual(service["spec"]["clusterIP"], "None")
        labels = specd_deployment()["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(service["spec"]["selector"].items(), labels.items())
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        self.assertEqual(ports["grpc"]["port"], files.listen_port(server_config()))
        self.assertEqual(ports["grpc"]["targetPort"], "grpc")
        self.assertEqual(ports["metrics"]["port"], server_config()["metrics_port"])

    def test_envoy_resolves_the_headless_service_on_the_grpc_port(self):
        address = envoy_cluster()["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        service = self.service()
        self.assertEqual(address["socket_address"]["address"],
                         f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local")
        self.assertEqual(address["socket_address"]["port_value"], files.listen_port(server_config()))
        self.assertEqual(envoy_cluster()["type"], "STRICT_DNS")

    def test_envoy_balances_each_call_over_http2(self):
        cluster = envoy_cluster()
        self.assertEqual(cluster["lb_policy"], "LEAST_REQUEST")
        options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        self.assertIn("http2_protocol_options", options["explicit_http_config"])

    def test_envoy_lets_through_every_call_the_largest_fleet_admits(self):
        engine = server_config()["engine"]
        max_replicas = files.k8s_object("HorizontalPodAutoscaler", "specd")["spec"]["maxReplicas"]
        admitted = max_replicas * (engine["max_num_seqs"] + engine["max_queued_requests"])
        [thresholds] = envoy_cluster()["circuit_breakers"]["thresholds"]
        self.assertGreaterEqual(thresholds["max_requests"], admitted)

    def test_envoy_health_checks_the_readiness_service(self):
        [check] = envoy_cluster()["health_checks"]
        self.assertEqual(check["grpc_health_check"]["service_name"], files.readiness_service())

    def test_envoy_retries_calls_a_draining_replica_refused(self):
        listener = envoy_config()["static_resources"]["listeners"][0]
        manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
        route = manager["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        self.assertIn("unavailable", route["retry_policy"]["retry_on"].split(","))
        self.assertEqual(route["timeout"], "0s", "a route timeout would cut long generation streams")

    def test_envoy_service_reaches_envoys_listener(self):
        listener = envoy_config()["static_resources"]["listeners"][0]
        envoy = files.container(files.k8s_object("Deployment", "specd-envoy"), "envoy")
        self.assertEqual(files.container_port(envoy, "grpc"), listener["address"]["socket_address"]["port_value"])
        service_ports = files.k8s_object("Service", "specd-envoy")["spec"]["ports"]
        self.assertEqual([p["targetPort"] for p in service_ports], ["grpc"])


class AutoscalerTest(unittest.TestCase):
    def hpa(self):
        return files.k8s_object("HorizontalPodAutoscaler", "specd")

    def test_scales_the_deployment(self):
        spec = self.hpa()["spec"]
        self.assertEqual(spec["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": "specd"})
        self.assertLessEqual(spec["minReplicas"], spec["maxReplicas"])

    def test_scales_on_a_gauge_the_server_exports(self):
        metrics = self.hpa()["spec"]["metrics"]
        self.assertTrue(metrics)
        for metric in metrics:
            name = metric["pods"]["metric"]["name"]
            self.assertIn(name, ("specd_num_requests_waiting", "specd_kv_cache_usage_ratio"),
                          "scale on queue depth or KV usage")
            self.assertEqual(files.exported_metrics().get(name), "gauge", f"{name} is not an exported gauge")


class ManifestSetTest(unittest.TestCase):
    def test_every_object_is_in_the_specd_namespace(self):
        for (kind, name), document in files.k8s_objects().items():
            if kind != "Namespace":
                self.assertEqual(document["metadata"].get("namespace"), NAMESPACE, f"{kind} {name}")
        self.assertIn(("Namespace", NAMESPACE), files.k8s_objects())

    def test_kustomization_lists_every_manifest_but_the_one_offs(self):
        listed = set(files.load_yaml("deploy", "k8s", "kustomization.yaml")["resources"])
        manifests = {name for name in os.listdir(files.K8S_DIR)
                     if name.endswith(".yaml") and name != "kustomization.yaml"}
        self.assertEqual(listed, manifests - files.ONE_OFF_MANIFESTS)


if __name__ == "__main__":
    unittest.main()
