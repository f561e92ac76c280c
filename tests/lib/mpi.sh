# tests/lib/mpi.sh — sourced by the MPI tests (mpi.sh, mpi_index.sh) once $TY and $BUILD are
# set: fails the whole script ("0 passed, 1 failed": never a silent skip) when $TY is not an
# MPI build or mpirun is missing; sets $MPIRUN, the mpirun command line every test uses.
if [ ! -x "$TY" ] || ! command -v mpirun > /dev/null 2>&1 ||
    ! ldd "$TY" 2> /dev/null | grep -q libmpi; then
    echo "FAIL: no MPI build ($TY; make MPI=1 BUILD=$BUILD) or no mpirun (scripts/deps.sh installs Open MPI)"
    echo "0 passed, 1 failed"
    exit 1
fi
MPIRUN="mpirun --oversubscribe --allow-run-as-root"
