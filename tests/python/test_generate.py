"""(a) A greedy Generate stream end to end: its shape, its usage, its text, and tokenization."""

import unittest

import e2e_env
from server_process import ServerProcess
from stream_helpers import delta_ids, delta_text, greedy_request, read_stream

VOCAB_SIZE = 512
BOS = 256  # specd-model's byte-level tokenizer: 256 bytes, then <s>, </s>, merges


class GenerateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess().start()
        cls.g = e2e_env.stubs().generation

    @classmethod
    def tearDownClass(cls):
        cls.server.stop_cleanly()

    def tokenize(self, text, add_special_tokens=True):
        request = self.g.TokenizeRequest(text=text, add_special_tokens=add_special_tokens)
        return list(self.server.generation.Tokenize(request, timeout=5).token_ids)

    def detokenize(self, ids):
        return self.server.generation.Detokenize(self.g.DetokenizeRequest(token_ids=ids), timeout=5).text

    def test_greedy_stream_is_prompt_info_deltas_finish(self):
        prompt = "The quick brown fox"
        call = self.server.generation.Generate(greedy_request(prompt, 32, request_id="shape-1"), timeout=20)
        messages = list(call)
        kinds = [m.WhichOneof("kind") for m in messages]
        self.assertEqual(kinds[0], "prompt_info")
        self.assertEqual(kinds[-1], "finish")
        self.assertGreaterEqual(len(kinds), 3)
        self.assertEqual(set(kinds[1:-1]), {"delta"})
        self.assertEqual({m.request_id for m in messages}, {"shape-1"})

        prompt_tokens = len(self.tokenize(prompt))
        self.assertEqual(messages[0].prompt_info.prompt_tokens, prompt_tokens)
        ids = delta_ids(messages[1:-1])
        self.assertEqual(len(ids), 32)
        self.assertTrue(all(0 <= token < VOCAB_SIZE for token in ids), ids)

        finish = messages[-1].finish
        self.assertEqual(finish.reason, self.g.FINISH_REASON_LENGTH)
        self.assertEqual(finish.usage.prompt_tokens, prompt_tokens)
        self.assertEqual(finish.usage.completion_tokens, len(ids))
        self.assertLessEqual(finish.usage.cached_tokens, prompt_tokens)
        self.assertEqual(finish.WhichOneof("matched_stop"), None)
        timings = finish.timings
        self.assertGreater(timings.total_seconds, 0.0)
        self.assertLessEqual(timings.time_to_first_token_seconds, timings.total_seconds)
        self.assertLessEqual(timings.decode_seconds, timings.total_seconds)

    def test_delta_text_is_the_detokenized_ids(self):
        for prompt in ["hello world", "€uro ünïcode 日本", "def f(x):\n    return x"]:
            with self.subTest(prompt=prompt):
                _, deltas, finishes = read_stream(self.server.generation.Generate(
                    greedy_request(prompt, 48), timeout=20))
                self.assertEqual(len(finishes), 1)
                ids = delta_ids(deltas)
                self.assertEqual(len(ids), 48)
                text = delta_text(deltas)
                self.assertNotEqual(text, "")
                self.assertEqual(text, self.detokenize(ids))

    def test_greedy_is_deterministic_and_text_equals_its_token_ids(self):
        prompt = "Once upon a time"
        runs = [delta_ids(read_stream(self.server.generation.Generate(greedy_request(prompt, 24), timeout=20))[1])
                for _ in range(2)]
        self.assertEqual(runs[0], runs[1])
        by_ids = self.g.GenerateRequest(
            token_ids=self.g.TokenIds(ids=self.tokenize(prompt)),
            sampling=self.g.SamplingOptions(temperature=0.0),
            stopping=self.g.StoppingOptions(max_tokens=24, ignore_eos=True))
        infos, deltas, _ = read_stream(self.server.generation.Generate(by_ids, timeout=20))
        self.assertEqual(delta_ids(deltas), runs[0])
        self.assertEqual(infos[0].prompt_info.prompt_tokens, len(self.tokenize(prompt)))

    def test_tokenize_round_trip(self):
        for text in ["hello world", "€uro ünïcode 日本", "  spaces\tand\nnewlines  "]:
            with self.subTest(text=text):
                ids = self.tokenize(text)
                self.assertEqual(ids[0], BOS)
                self.assertTrue(all(0 <= token < VOCAB_SIZE for token in ids), ids)
                self.assertEqual(self.detokenize(ids), text)
                self.assertEqual(self.tokenize(text, add_special_tokens=False), ids[1:])

    def test_tokenize_of_ascii_is_byte_level(self):
        # The tokenizer's first 256 ids are the bytes; "hel" has no merge in specd-model's vocab.
        self.assertEqual(self.tokenize("hel", add_special_tokens=False), [ord("h"), ord("e"), ord("l")])


if __name__ == "__main__":
    unittest.main()
