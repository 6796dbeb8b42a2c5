# report/curves.gp -- test exact match during training, one line a run and direction:
#   gnuplot -c report/curves.gp OUT.png TITLE XLABEL PLOT
# PLOT is the plot command's list, one entry per line drawn, that run_all.sh builds from
# report/figures.tsv: each run's log.csv, column 7 (forward) and 8 (backward, dashed)
# against the optimizer step (column 1) or the elapsed wall-clock seconds (column 6).
set terminal png size 900,500 noenhanced
set output ARG1
set datafile separator ","
set title ARG2
set xlabel ARG3; set ylabel "test exact match (%)"; set yrange [0:100]; set key outside right
plot @ARG4
