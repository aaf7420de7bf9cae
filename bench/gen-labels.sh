#!/usr/bin/env bash
# Generates the camera benchmark's label set: Code 128 labels (UPU S10 ids with
# valid check digits and Cainiao LP numbers) rendered by zint, laid on a
# 1280x1024 grey "belt" frame and degraded by ImageMagick, one class at a time.
#
#   bench/gen-labels.sh OUTDIR [PER_CLASS] [SEED]
#
# Each frame is OUTDIR/CLASS-NNN-CODE.pgm: the class and the true code are in
# the name, which is all bench-camera needs to score reads. PER_CLASS frames
# per class (default 30; 11 classes), the same set for the same SEED.
# Needs zint, ImageMagick's convert and zbar-tools' zbarimg (the baseline the
# benchmark runs beside the pipeline); scripts/deps.sh installs them, and is
# run from here when they are missing and we are root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

out=${1:?usage: gen-labels.sh OUTDIR [PER_CLASS] [SEED]}
per=${2:-30}
seed=${3:-1}

need=()
command -v zint >/dev/null || need+=(zint)
[ -x /usr/bin/convert ] || need+=(imagemagick)
command -v zbarimg >/dev/null || need+=(zbar-tools)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "gen-labels: missing ${need[*]}: run scripts/deps.sh as root" >&2
        exit 2
    fi
    "$top/scripts/deps.sh"
fi
# The real ImageMagick, not a stand-in that may shadow it earlier in PATH.
convert=/usr/bin/convert

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
RANDOM=$seed

# The random values are drawn in this shell, never in $(...): bash reseeds
# RANDOM in every subshell, so a command substitution would make a different
# set each run whatever SEED says. Each helper leaves its result in $v.

# A random valid S10 id: service letters, 8-digit serial, check digit
# (weights 8 6 4 2 3 5 9 7; 11 - sum mod 11, 10 -> 0, 11 -> 5), country.
s10() {
    local svc=(RR RB RA EE EB CP CA LA LX UA VV HA) cc=(CN GB RU HK KZ DE) w=(8 6 4 2 3 5 9 7)
    local serial="" sum=0 d i c
    for i in 0 1 2 3 4 5 6 7; do
        d=$((RANDOM % 10))
        serial+=$d
        sum=$((sum + d * w[i]))
    done
    c=$((11 - sum % 11))
    [ $c = 10 ] && c=0
    [ $c = 11 ] && c=5
    v="${svc[RANDOM % ${#svc[@]}]}$serial$c${cc[RANDOM % ${#cc[@]}]}"
}

lp() {
    printf -v v 'LP%07d%07d' $((RANDOM * 30 % 10000000)) $((RANDOM * 29 % 10000000))
}

# uniform integer in [lo, hi]
rnd() { v=$(($1 + RANDOM % ($2 - $1 + 1))); }

# rot20_65 (the issue 14 goal's range) is last, so the classes before it keep
# the frames they had for the same SEED.
classes=(clean rot5_15 rot20_45 rot45_90 blur noise lowcontrast perspective small mixed rot20_65)

# One job line per frame: class, index, code, angle, x and y offsets, noise seed.
jobs=$tmp/jobs
: >"$jobs"
for class in "${classes[@]}"; do
    for ((i = 0; i < per; i++)); do
        if ((i % 2)); then lp; else s10; fi
        code=$v
        sign=$(((RANDOM % 2) * 2 - 1))
        case $class in
        rot5_15) rnd 5 15 ;;
        rot20_45) rnd 20 45 ;;
        rot45_90) rnd 45 90 ;;
        rot20_65) rnd 20 65 ;;
        mixed) rnd 0 90 ;;
        *) rnd 0 4 ;;
        esac
        angle=$((sign * v))
        rnd 0 400
        dx=$v
        rnd 0 300
        echo "$class $i $code $angle $dx $v $RANDOM" >>"$jobs"
    done
done

render() {
    local class=$1 i=$2 code=$3 angle=$4 dx=$5 dy=$6 nseed=$7
    local label=$tmp/$class-$i.png name
    name=$(printf '%s/%s-%03d-%s.pgm' "$out" "$class" "$i" "$code")
    # 2 px per module (zint scale 1): about a 0.4 mm module seen at 0.2 mm/px.
    zint -b 20 -d "$code" --scale=1 --whitesp=10 --vwhitesp=6 -o "$label" >/dev/null
    local pre=() post=()
    case $class in
    small) pre=(-resize 72%) ;;   # 1.45 px per module
    blur) post=(-blur 0x1.2) ;;
    noise) post=(-seed "$nseed" -attenuate 1.4 +noise Gaussian) ;;
    lowcontrast) post=(+level 38%,62%) ;;
    perspective)
        post=(-virtual-pixel edge -distort Perspective
            "0,0 60,30  1279,0 1190,0  0,1023 0,1023  1279,1023 1279,960") ;;
    mixed) post=(-blur 0x0.8 -seed "$nseed" -attenuate 0.6 +noise Gaussian +level 15%,85%) ;;
    esac
    # The label (white paper) is rotated over belt grey and put somewhere on
    # the frame, then the whole frame is degraded as a camera would.
    "$convert" -size 1280x1024 "xc:gray(165)" \
        \( "$label" "${pre[@]}" -background "gray(165)" -rotate "$angle" \) \
        -gravity center -geometry "+$((dx - 200))+$((dy - 150))" -composite \
        "${post[@]}" -colorspace Gray -depth 8 "$name"
}
export -f render
export out tmp convert

xargs -P "$(nproc)" -L 1 bash -c 'render "$@"' _ <"$jobs"
echo "gen-labels: $(find "$out" -name '*.pgm' | wc -l) frames in $out"
