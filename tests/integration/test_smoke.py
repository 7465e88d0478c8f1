"""The first thing a user does: send one event, see it in a file."""
import os
import unittest

from harness import DaemonTestCase, event, read_json_lines, wait_until


class SmokeTest(DaemonTestCase):
    def test_one_event_reaches_sync_and_async_file(self):
        d = self.daemon(lambda dir: [
            {"id": "sync-file", "type": "file", "dispatch": "sync", "path": os.path.join(dir, "sync.log")},
            {"id": "async-file", "type": "file", "dispatch": "async", "path": os.path.join(dir, "async.log")},
        ])
        [reply] = d.send([event("user.login")])
        self.assertTrue(reply["ok"], reply)
        self.assertEqual(reply["results"]["sync-file"], {"status": "ok"})
        self.assertEqual(reply["results"]["async-file"]["status"], "enqueued")
        self.assertEqual(read_json_lines(d.path("sync.log"))[0]["id"], reply["id"])
        wait_until(lambda: read_json_lines(d.path("async.log")), message="the async file")
        self.assertEqual(read_json_lines(d.path("async.log"))[0]["id"], reply["id"])
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
