# report/pca.gp -- a run's entities on their two principal components (06_eval --pca),
# colored by entity (A, B, C) and marked by split (train filled, test open):
#   gnuplot -c report/pca.gp OUT.png TITLE PCA.CSV EXPLAINED-VARIANCE
# the plain png terminal (as every plot here): an indexed-colour image, a fifth of pngcairo's size
set terminal png size 700,600 noenhanced
set output ARG1
set datafile separator ","
set title sprintf("%s (explained variance %s)", ARG2, ARG4)
set xlabel "PC 1"; set ylabel "PC 2"; set key outside bottom center horizontal
plot for [q in "train test"] for [e in "A B C"] ARG3 using (strcol(2) eq q && strcol(3) eq e ? $4 : NaN):5 \
     with points pt (q eq "train" ? 7 : 6) ps 0.5 title sprintf("%s - entity %s", q, e)
