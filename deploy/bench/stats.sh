# Sourced by the bench scripts: the figures they judge a run's rounds by.

# median VALUE...: the median of the values.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# quartiles FORMAT VALUE...: the first and third quartile, each printed with FORMAT ("A to B"),
# to show how far the rounds spread.
quartiles() {
	local f=$1; shift
	printf '%s\n' "$@" | sort -g | awk -v f="$f" '{ a[NR] = $1 } END { printf f " to " f, a[int((NR + 3) / 4)], a[int((3 * NR + 3) / 4)] }'
}
