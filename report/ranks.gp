# report/ranks.gp -- which position may use which, for each objective: the first draw of
# `04_train_ar --show-ranks csv` and `05_train_mlmu [--objective ...] --show-ranks csv`
# (one example sequence, BOS and 7 tokens; a filled square at (context j, position i) means
# the prediction at i may use the token at j; rows of scored positions are labelled '*').
#   gnuplot -c report/ranks.gp OUT.png AR.csv MLM15.csv MLMU.csv PLM.csv
set terminal png size 1000,300 noenhanced
set output ARG1
set datafile separator ","
set multiplot layout 1,4
set size ratio -1
set xrange [-0.5:8]; set yrange [7.5:-0.5]
set xtics 0,1,7 font ",8"; set ytics 0,1,7 font ",8"
set xlabel "context position j" font ",9"; set ylabel "predicted position i" font ",9"
unset key
do for [k = 2:5] {
    f = ARGV[k]
    set title system(sprintf("awk -F, 'NR==2{print $1}' %s", f))." (one draw)" font ",10"
    plot f using (strcol(2) eq "1" && column(7) == 0 ? $6 : NaN):3 with points pt 4 ps 1.2 lc rgb "#cccccc", \
         f using (strcol(2) eq "1" && column(7) == 1 ? $6 : NaN):3 with points pt 5 ps 1.8 lc rgb "#1f5fa8", \
         f using (strcol(2) eq "1" && column(6) == 0 && column(5) == 1 ? 7.4 : NaN):3:("*") with labels left font ",9"
}
unset multiplot
