#!/usr/bin/env bash
# timeout: 90
# The /.landing/ status page in headless Chromium during a slow upload: the
# rendered page shows the upload with its progress bar (bytes so far
# against the expected size), and the page loads nothing from elsewhere.
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (make deps)"
lf_setup
lf_start

head -c 3000000 /dev/urandom > "$T/big.iso"
curl -s -o /dev/null --limit-rate 150k -T "$T/big.iso" "$URL/isos/big.iso" &
up=$!
LF_EXTRA_CLEANUP="kill $up 2>/dev/null"
for _ in $(seq 1 50); do
	curl -s "$URL/.landing/uploads" | grep -q '"/isos/big.iso"' && break
	sleep 0.1
done
sleep 1

# The page has no external reference.
curl -s "$URL/.landing/" > "$T/page.html"
if grep -Eq '(src|href)="(https?:)?//' "$T/page.html"; then fail "external asset"; fi

timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
	--no-first-run --disable-background-networking \
	--disable-component-update --disable-sync \
	--user-data-dir="$T/chromium" --virtual-time-budget=5000 \
	--window-size=400,800 --dump-dom "$URL/.landing/" \
	> "$T/dom.html" 2> "$T/chromium.log" || {
	tail -n 20 "$T/chromium.log" >&2
	fail "chromium failed"
}
python3 - "$T/dom.html" <<'PY' || fail "rendered page: $(head -c 3000 "$T/dom.html")"
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.bars = []; self.text = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "progress": self.bars.append(a)
    def handle_data(self, d): self.text.append(d)
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
bars = [b for b in p.bars if b.get("data-path") == "/isos/big.iso"]
assert bars, ("no progress bar for the upload", p.bars)
b = bars[0]
assert int(b["max"]) == 3000000, b
assert 0 < int(b["value"]) < 3000000, b
text = " ".join(p.text)
assert "/isos/big.iso" in text, "path not shown"
assert "127.0.0.1" in text, "peer not shown"
print("bar", b)
PY
kill $up 2>/dev/null || true
wait $up 2>/dev/null || true
LF_EXTRA_CLEANUP=""
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
