"""deploy/Dockerfile and deploy/compose.yaml agree with the server: the image listens where its
health check, its exposed ports and compose's port mappings say, its health check asks the
readiness service, it runs as a non-root user with a config chosen by SPECD_CONFIG, compose gives
the server longer to stop than it drains, and the load generator targets the server's port."""

import os
import unittest

import deploy_files as files

# specd-bench's command line (issue 10); compose's load generator runs exactly this.
LOAD_GENERATOR_ARGV = ["specd-bench", "--workload", "configs/workloads/chat.json", "--target", "specd:50051"]


def runtime_stage():
    return files.dockerfile_runtime_stage()


def image_argv():
    """ENTRYPOINT + CMD of the image."""
    stage = runtime_stage()
    return (files.exec_form(files.dockerfile_value(stage, "ENTRYPOINT")) +
            files.exec_form(files.dockerfile_value(stage, "CMD")))


def image_grpc_port():
    return int(files.flag_value(image_argv(), "--listen").rsplit(":", 1)[1])


def image_default_config_path():
    """SPECD_CONFIG's default: the ARG the runtime stage's ENV takes it from."""
    stage = runtime_stage()
    arg = files.dockerfile_value(stage, "ARG")
    name, default = arg.split("=", 1)
    environment = files.dockerfile_value(stage, "ENV")
    if f"SPECD_CONFIG=${{{name}}}" not in environment.split():
        raise AssertionError(f"the runtime stage's ENV does not set SPECD_CONFIG from ARG {name}: {environment}")
    return default


def compose_services():
    return files.load_yaml("deploy", "compose.yaml")["services"]


def compose_server_config():
    return files.load_json(compose_services()["specd"]["environment"]["SPECD_CONFIG"])


class ImageTest(unittest.TestCase):
    def test_serves_on_every_interface(self):
        self.assertEqual(image_argv()[:2], ["specd", "serve"])
        self.assertTrue(files.flag_value(image_argv(), "--listen").startswith("0.0.0.0:"))

    def test_health_check_asks_readiness_on_the_served_port(self):
        healthcheck = files.dockerfile_value(runtime_stage(), "HEALTHCHECK")
        argv = files.exec_form(healthcheck.split(" CMD ", 1)[1].strip())
        self.assertEqual(argv[:1], ["specd-cli"])
        self.assertEqual(files.flag_value(argv, "--server"), f"127.0.0.1:{image_grpc_port()}")
        self.assertIn("health", argv)
        self.assertEqual(files.flag_value(argv, "--service"), files.readiness_service())

    def test_exposes_the_grpc_and_metrics_ports(self):
        exposed = {int(port) for port in files.dockerfile_value(runtime_stage(), "EXPOSE").split()}
        config = files.load_json(image_default_config_path())
        self.assertEqual(exposed, {image_grpc_port(), config["metrics_port"]})

    def test_runs_as_a_numeric_non_root_user(self):
        user = files.dockerfile_value(runtime_stage(), "USER")
        self.assertTrue(user.isdigit(), "Kubernetes can only verify runAsNonRoot for a numeric user")
        self.assertNotEqual(int(user), 0)

    def test_default_config_is_a_shipped_cpu_preset(self):
        default = image_default_config_path()
        self.assertTrue(os.path.isfile(files.path(default)), default)
        self.assertEqual(files.load_json(default)["runner"], "cpu")

    def test_base_images_are_build_arguments(self):
        instructions = files.dockerfile_instructions()
        arguments = {a.split("=", 1)[0] for k, a in instructions if k == "ARG"}
        self.assertLessEqual({"BUILD_IMAGE", "RUNTIME_IMAGE"}, arguments)
        stages = [a for k, a in instructions if k == "FROM"]
        self.assertEqual(stages, ["${BUILD_IMAGE} AS build", "${RUNTIME_IMAGE} AS runtime"])

    def test_the_last_build_step_is_the_smoke_test(self):
        runs = [a for k, a in runtime_stage() if k == "RUN"]
        self.assertEqual(runs[-1], "specd-smoke-test")


class ComposeTest(unittest.TestCase):
    def test_server_publishes_its_grpc_and_metrics_ports(self):
        published = {int(mapping.split(":")[-1]) for mapping in compose_services()["specd"]["ports"]}
        self.assertEqual(published, {image_grpc_port(), compose_server_config()["metrics_port"]})

    def test_server_gets_longer_to_stop_than_it_drains(self):
        grace = files.seconds(compose_services()["specd"]["stop_grace_period"])
        self.assertGreater(grace, compose_server_config()["drain_timeout_seconds"])

    def test_load_generator_runs_the_preset_against_the_server(self):
        loadgen = compose_services()["loadgen"]
        self.assertEqual(loadgen["entrypoint"] + loadgen["command"], LOAD_GENERATOR_ARGV)
        host, port = files.flag_value(LOAD_GENERATOR_ARGV, "--target").split(":")
        self.assertIn(host, compose_services())
        self.assertEqual(int(port), image_grpc_port())
        self.assertEqual(loadgen["depends_on"]["specd"]["condition"], "service_healthy")
        self.assertEqual(loadgen["image"], compose_services()["specd"]["image"])


if __name__ == "__main__":
    unittest.main()
