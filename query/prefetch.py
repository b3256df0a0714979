"""`prefetch(array, i)` inside numba code: ask the CPU to start loading array[i] into cache, without waiting.

The related-posts kernel reads each query term's postings a slice at a time: slices are short, so the
hardware prefetcher has barely found the stream before it ends, and the scatter waits on memory. Numba has
no prefetch, so this emits LLVM's `llvm.prefetch` intrinsic. A prefetch never faults, even past the end of
the array.
"""
from __future__ import annotations

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# Opaque pointers (LLVM 15+) name the intrinsic by address space only.
_NAME = "llvm.prefetch.p0" if binding.llvm_version_info >= (15,) else "llvm.prefetch.p0i8"


@intrinsic
def prefetch(typingctx, array, index):
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        byte_ptr = ir.IntType(8).as_pointer()
        address = builder.bitcast(builder.gep(ary.data, [args[1]]), byte_ptr)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
                                            _NAME)
        # read (0), keep in all cache levels (3), data cache (1)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen
