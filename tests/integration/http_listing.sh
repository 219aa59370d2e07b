#!/usr/bin/env bash
# timeout: 60
# Directory listings: HTML with one link per entry (names escaped and
# encoded), JSON (name, type, size, mtime, sha256 when known) by ?format=json
# or Accept, and pagination by cursor that neither repeats nor skips while
# entries are removed between pages.
. "$(dirname "$0")/lib.sh"
lf_setup
lf_start

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

names=("plain.txt" "with space.txt" "a&b<c>.html" ".hidden" "ünï.txt" "100%.txt" "q?x")
i=0
for n in "${names[@]}"; do
	i=$((i + 1))
	head -c $((i * 100)) /dev/zero > "$T/f"
	enc=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$n")
	expect_eq "$(code -T "$T/f" "$URL/dir/$enc")" 201 "PUT $n"
done
expect_eq "$(code -T "$T/f" "$URL/dir/sub/inner")" 201 "PUT sub/inner"
# A digest computed once shows in the listing.
curl -s -o /dev/null -H 'Want-Repr-Digest: sha-256=1' "$URL/dir/plain.txt"

# Without the slash, HTML readers are sent to the slash.
curl -s -D "$T/h" -o /dev/null "$URL/dir"
grep -q '^HTTP/1.1 301' "$T/h" || fail "no redirect for /dir"
grep -qi '^Location: /dir/' "$T/h" || fail "redirect target"

# HTML: one link per entry, and ../; each link leads to its entry.
curl -s -o "$T/index.html" "$URL/dir/"
python3 - "$T/index.html" "$URL/dir/" "${names[@]}" <<'PY' || fail "HTML listing"
import sys, html.parser, urllib.parse, urllib.request
page, base, names = sys.argv[1], sys.argv[2], sys.argv[3:]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.links = []; self.text = {}; self.cur = None
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.cur = dict(attrs)["href"]; self.links.append(self.cur); self.text[self.cur] = ""
    def handle_data(self, d):
        if self.cur is not None: self.text[self.cur] += d
    def handle_endtag(self, tag):
        if tag == "a": self.cur = None
p = P(); p.feed(open(page, encoding="utf-8").read())
links = [l for l in p.links if l != "../"]
assert "../" in p.links, "no parent link"
want = sorted(names + ["sub/"])
got = sorted(urllib.parse.unquote(l) for l in links)
assert got == want, (got, want)
shown = sorted(p.text[l] for l in links)
assert shown == want, ("text", shown, want)
for l in links:
    if l.endswith("/"): continue
    with urllib.request.urlopen(base + l) as r:
        assert r.status == 200, l
print("html ok", len(links))
PY

# JSON by query and by Accept.
curl -s -o "$T/a.json" "$URL/dir/?format=json"
curl -s -o "$T/b.json" -H 'Accept: application/json' "$URL/dir"
python3 - "$T/a.json" "$T/b.json" "${names[@]}" <<'PY' || fail "JSON listing"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
names = sys.argv[3:]
assert a["entries"] == b["entries"], "query and Accept differ"
assert a["path"] == "/dir/", a["path"]
assert a["next"] is None
ents = {e["name"]: e for e in a["entries"]}
assert sorted(ents) == sorted(names + ["sub"]), sorted(ents)
for i, n in enumerate(names, 1):
    e = ents[n]
    assert e["type"] == "file" and e["size"] == i * 100, e
    assert isinstance(e["mtime"], int) and e["mtime"] > 1600000000, e
assert ents["sub"]["type"] == "dir"
assert ents["plain.txt"]["sha256"] == "cd00e292c5970d3c5e2f0ffa5171e555bc46bfc4faddfb4a418b6840b86e79a3", ents["plain.txt"]
print("json ok")
PY
expect_eq "$(code "$URL/dir/?format=json&cursor=abc")" 400 "bad cursor"
expect_eq "$(code "$URL/dir/?format=json&limit=0")" 400 "bad limit"
expect_eq "$(code "$URL/nodir/?format=json")" 404 "missing directory"

# Pagination: 50 files, pages of 7, removing an already listed entry and
# an entry not yet listed between pages.
for i in $(seq -w 1 50); do
	expect_eq "$(code -T "$T/f" "$URL/many/f$i")" 201 "PUT many/f$i"
done
python3 - "$URL" <<'PY' || fail "pagination"
import json, sys, urllib.request
url = sys.argv[1]
def page(cursor):
    q = "?format=json&limit=7" + ("&cursor=" + cursor if cursor else "")
    with urllib.request.urlopen(url + "/many/" + q) as r:
        return json.load(r)
def delete(name):
    req = urllib.request.Request(url + "/many/" + name, method="DELETE")
    with urllib.request.urlopen(req) as r:
        assert r.status == 204
seen, cursor, pages, removed = [], None, 0, set()
while True:
    p = page(cursor); pages += 1
    names = [e["name"] for e in p["entries"]]
    assert len(names) <= 7
    seen += names
    if pages == 2:
        delete(seen[0]); removed.add(seen[0])       # already listed
        later = sorted(set("f%02d" % i for i in range(1, 51)) - set(seen))[-1]
        delete(later); removed.add(later)           # not listed yet
    cursor = p["next"]
    if cursor is None: break
assert len(seen) == len(set(seen)), "repeated entries"
want = set("f%02d" % i for i in range(1, 51)) - (removed - set(seen))
assert set(seen) == want, sorted(want - set(seen))
print("pages", pages, "entries", len(seen))
PY

# HTML pages link to the next one.
curl -s -o "$T/p.html" "$URL/many/?limit=5"
grep -q 'rel="next"' "$T/p.html" || fail "no next link in a partial HTML page"
[ "$(grep -c '<a href="f' "$T/p.html")" = 5 ] || fail "HTML page size"
# A clean stop, and nothing from the sanitizers when built with them.
lf_stop || fail "the daemon did not exit cleanly"
if grep -Eq 'Sanitizer|runtime error' "$LOG"; then fail "sanitizer report in the log"; fi
echo ok
