# lib.sh - helpers shared by the bench scripts that run servers side by
# side (sourced, not run). Each script sets T, its temporary directory,
# before calling nginx_conf.

# free_port: a TCP port on 127.0.0.1 that nothing listens on and that this
# script has not handed out before.
LFB_PORTS=()
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep -q . && continue
		[[ " ${LFB_PORTS[*]} " == *" $p "* ]] && continue
		LFB_PORTS+=("$p")
		echo "$p"
		return
	done
	echo "no free port" >&2
	exit 1
}

# cpu_ticks PID: user + system time of every thread of PID and of its
# child processes (landingfs's publish helpers do part of its work), in
# clock ticks. A child that exits between two readings would take its
# ticks with it; the servers here keep theirs for the whole run.
cpu_ticks() {
	local p t=0
	for p in "$1" $(pgrep -P "$1"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# median: the median of the numbers on stdin, one per line ("nan" for none).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# nginx_conf: writes $T/nginx/nginx.conf for one foreground nginx worker
# that keeps every file under $T/nginx and logs errors only; the lines on
# stdin (server blocks, other http directives) go inside its http block.
nginx_conf() {
	local d=$T/nginx
	mkdir -p "$d"
	{
		cat <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $d/error.log;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
CONF
		cat
		echo "}"
	} > "$d/nginx.conf"
}
