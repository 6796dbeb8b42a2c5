# gnuplot docs/cpu-scale-tries/star4L.gp (from the repository root): the 4-layer star-graph runs
set datafile separator ','
set terminal pngcairo size 900,520 font ',11'
set output 'docs/cpu-scale-tries/star4L.png'
set title 'Star graph (degree 2, 4-node paths, 30 labels, 50000 graphs), 4-layer model, 1 CPU core'
set xlabel 'optimizer step'
set ylabel 'test full-path exact match (%)'
set yrange [0:105]
set key bottom right
set grid
set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 2 lw 2 lc rgb '#999999' front
set label 'guessing the first step (Clever Hans)' at graph 0.02, first 53 tc rgb 'gray'
d = 'docs/cpu-scale-tries/'
plot d.'star4L-mlmu-16k-log.csv' using 1:(strcol(7) eq '' ? NaN : $7) with linespoints lw 2 title 'MLM-U, left to right (16000 steps)', \
     d.'star4L-ar-16k-log.csv' using 1:(strcol(7) eq '' ? NaN : $7) with linespoints lw 2 title 'AR (16000 steps)', \
     d.'star4L-mlmu-6k-log.csv' using 1:(strcol(7) eq '' ? NaN : $7) with linespoints dt 2 title 'MLM-U, left to right (6000 steps)', \
     d.'star4L-ar-6k-log.csv' using 1:(strcol(7) eq '' ? NaN : $7) with linespoints dt 2 title 'AR (6000 steps)', \
     d.'star4L-mlmu-decoding-orders.csv' using 2:4 with points pt 7 ps 2 title 'MLM-U, surest position first (06\_eval --order confidence)'
