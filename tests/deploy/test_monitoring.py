"""deploy/prometheus/ and the runbook agree with the server's /metrics: every specd_* series that
the alerts, the adapter and the autoscaler read is one the server exports, the adapter serves
the autoscaler's metric, and every alert is explained in deploy/README.md."""

import unittest

import deploy_files as files


def alert_rules():
    groups = files.load_yaml("deploy", "prometheus", "alerts.yaml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def adapter_rules():
    return files.load_yaml("deploy", "prometheus", "adapter.yaml")["rules"]["custom"]


class ExportedMetricsTest(unittest.TestCase):
    def test_the_server_sources_were_read(self):
        kinds = set(files.exported_metrics().values())
        self.assertEqual(kinds, {"gauge", "counter", "histogram"})

    def test_monitoring_files_read_only_exported_series(self):
        for parts in (("deploy", "prometheus", "alerts.yaml"), ("deploy", "prometheus", "adapter.yaml"),
                      ("deploy", "k8s", "hpa.yaml")):
            with self.subTest(file="/".join(parts)):
                names = files.specd_names_in(files.read_text(*parts))
                self.assertTrue(names)
                self.assertLessEqual(names, files.exported_series())


class AlertsTest(unittest.TestCase):
    def test_every_alert_has_a_severity_and_a_summary(self):
        rules = alert_rules()
        self.assertTrue(rules)
        for rule in rules:
            with self.subTest(alert=rule["alert"]):
                self.assertIn(rule["labels"]["severity"], ("critical", "warning", "info"))
                self.assertTrue(rule["annotations"]["summary"])

    def test_every_alert_is_explained_in_the_runbook(self):
        runbook = files.read_text("deploy", "README.md")
        for rule in alert_rules():
            self.assertIn(f"**{rule['alert']}**", runbook, f"deploy/README.md does not explain {rule['alert']}")


class AdapterTest(unittest.TestCase):
    def test_serves_each_metric_the_autoscaler_reads(self):
        served = {rule["name"]["as"] for rule in adapter_rules()}
        hpa = files.k8s_object("HorizontalPodAutoscaler", "specd")
        for metric in hpa["spec"]["metrics"]:
            self.assertIn(metric["pods"]["metric"]["name"], served)

    def test_rules_map_series_to_pods(self):
        for rule in adapter_rules():
            overrides = rule["resources"]["overrides"]
            self.assertEqual(overrides["pod"], {"resource": "pod"})
            self.assertEqual(overrides["namespace"], {"resource": "namespace"})


if __name__ == "__main__":
    unittest.main()
