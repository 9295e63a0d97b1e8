import LivePatch
print(lp_abi_version())
