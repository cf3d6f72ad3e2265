"""(h) The config file `specd serve` loads: $SPECD_CONFIG when there is no --config (how the
container image and the Kubernetes Deployment choose theirs), --config over $SPECD_CONFIG, and a
missing $SPECD_CONFIG file refused with its path named."""

import json
import os
import subprocess
import unittest

import e2e_env
from server_process import ServerProcess

# A value that no shipped preset uses, so the loaded file is recognizable in the server info.
DISTINCT_MAX_NUM_SEQS = 7


def write_distinct_config():
    """configs/serve_cpu.json with engine.max_num_seqs changed, in the scratch folder."""
    with open(e2e_env.SERVE_CONFIG) as f:
        config = json.load(f)
    config["engine"]["max_num_seqs"] = DISTINCT_MAX_NUM_SEQS
    path = os.path.join(e2e_env.scratch_dir(), "distinct_serve.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


class ConfigEnvironmentTest(unittest.TestCase):
    def setUp(self):
        self.server = None
        self.distinct_config = write_distinct_config()

    def tearDown(self):
        if self.server is not None:
            self.server.kill()

    def loaded_max_num_seqs(self):
        info = self.server.admin.GetServerInfo(e2e_env.stubs().admin.GetServerInfoRequest(), timeout=5)
        return json.loads(info.effective_config_json)["engine"]["max_num_seqs"]

    def test_specd_config_chooses_the_file_without_a_config_flag(self):
        self.server = ServerProcess(config=None, env={"SPECD_CONFIG": self.distinct_config}).start()
        self.assertEqual(self.loaded_max_num_seqs(), DISTINCT_MAX_NUM_SEQS)
        self.server.stop_cleanly()

    def test_config_flag_wins_over_specd_config(self):
        self.server = ServerProcess(env={"SPECD_CONFIG": self.distinct_config}).start()
        with open(e2e_env.SERVE_CONFIG) as f:
            preset_max_num_seqs = json.load(f)["engine"]["max_num_seqs"]
        self.assertNotEqual(preset_max_num_seqs, DISTINCT_MAX_NUM_SEQS)
        self.assertEqual(self.loaded_max_num_seqs(), preset_max_num_seqs)
        self.server.stop_cleanly()

    def test_missing_specd_config_file_is_refused_with_its_path(self):
        missing = os.path.join(e2e_env.scratch_dir(), "no_such_config.json")
        result = subprocess.run([e2e_env.binary("specd"), "serve", "--listen", "127.0.0.1:0"],
                                env={**os.environ, "SPECD_CONFIG": missing},
                                capture_output=True, text=True, timeout=30, cwd=e2e_env.SOURCE_DIR)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(missing, result.stderr)


if __name__ == "__main__":
    unittest.main()
