# report/bars.gp -- one bar a run, its value printed above it:
#   gnuplot -c report/bars.gp OUT.png TITLE DATA
# DATA has a line per run: "LABEL" VALUE (run_all.sh writes it from report/figures.tsv).
set terminal png size 600,400 noenhanced
set output ARG1
set title ARG2
set ylabel "exact match (%)"; set yrange [0:100]; set style fill solid 0.6; set boxwidth 0.6
plot ARG3 using 0:2:xtic(1) with boxes notitle, "" using 0:($2 + 3):(sprintf("%.1f", $2)) with labels notitle
