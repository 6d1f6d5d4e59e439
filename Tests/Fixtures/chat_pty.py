"""Drives `hearth run MODEL` (the interactive chat) through a pseudo-terminal, as a user at a keyboard would.

Usage: chat_pty.py HEARTH MODEL. Exits 0 when every check holds, else prints what failed and exits 1.
Checks: `/set parameter temperature 0` is applied; the second turn sees the first (its answer equals a one-shot
`--raw` run on the whole two-turn conversation rendered by `hearth chat-template`); line editing (left arrow);
`\"\"\"` multi-line input; Ctrl-C during an answer returns to the prompt and the chat goes on; /bye exits 0.
"""
import json, subprocess, sys, time
import pexpect

hearth, model = sys.argv[1], sys.argv[2]
PROMPT = ">>> "


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


c = pexpect.spawn(hearth, ["run", model, "--num-predict", "32"], encoding="utf-8", timeout=180,
                  dimensions=(40, 200))
c.logfile_read = sys.stdout
c.expect_exact(PROMPT)


def turn(text):
    """Sends one line and returns the answer printed before the next prompt."""
    c.send(text + "\r")
    c.expect_exact("\r\n")  # the echoed line
    c.expect_exact("\r\n\r\n" + PROMPT)
    return c.before.replace("\r\n", "\n")


c.send("/set parameter temperature 0\r")
c.expect_exact("Set parameter 'temperature' to '0'")
c.expect_exact(PROMPT)

# Line editing: type "Whta", fix it with the arrow keys.
q1 = "What is the capital of France? Answer in one sentence."
c.send("Wat is the capital of France? Answer in one sentence.")
c.send("\x1b[H" + "\x1b[C")  # Home, then right one character
c.send("h")
c.expect_exact("h")
a1 = turn("")
q2 = "And of Italy?"
a2 = turn(q2)
print("\n[answers]", repr(a1), repr(a2))
if not a1.strip() or not a2.strip():
    fail("an answer was empty")

# The same conversation as one prompt, rendered by the template and run raw at temperature 0.
conv = {"messages": [{"role": "user", "content": q1}, {"role": "assistant", "content": a1},
                     {"role": "user", "content": q2}]}
prompt = subprocess.run([hearth, "chat-template", model], input=json.dumps(conv), capture_output=True, text=True,
                        check=True).stdout
one_shot = subprocess.run([hearth, "run", model, prompt, "--raw", "--temperature", "0", "--num-predict", "32"],
                          capture_output=True, text=True, check=True).stdout
if one_shot.rstrip("\n") != a2:
    fail(f"second turn does not continue the first: interactive {a2!r} vs whole conversation {one_shot!r}")

# Multi-line input.
c.send('"""Say hello\r')
c.expect_exact("... ")
c.send('in French."""\r')
c.expect_exact("\r\n\r\n" + PROMPT)

# Ctrl-C during a long answer returns to the prompt, and the chat goes on.
c.send("/set parameter num_predict 2000\r")
c.expect_exact(PROMPT)
c.send("Write a very long story about a dragon and a knight.\r")
c.expect_exact("\r\n")
c.expect(r"\w+ \w+ \w+")  # some of the answer streamed
start = time.time()
c.sendintr()
c.expect_exact(PROMPT, timeout=20)
if time.time() - start > 15:
    fail("Ctrl-C took too long to stop the answer")
c.send("/set parameter num_predict 8\r")
c.expect_exact(PROMPT)
a3 = turn("Thank you!")
if not a3.strip():
    fail("no answer after Ctrl-C")

c.send("/bye\r")
c.expect(pexpect.EOF)
c.close()
if c.exitstatus != 0:
    fail(f"exit status {c.exitstatus}")
print("\nOK")
