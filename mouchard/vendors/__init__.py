"""The IAB Europe Global Vendor List as a registry, and what vendors declare set beside what they did.

- `gvl`: the vendor list file (GVL v3, TCF 2.2; v2 files read too) into `VendorList` / `Vendor`.
- `disclosure`: a vendor's Device Storage Disclosure JSON into `Disclosure` / `Disclosed`, and matching a cookie,
  a storage key or a host against it.
- `fetch`: downloading a version (current, numbered, a file) and every disclosure, into `vendor_lists`, `vendors`
  and `vendor_disclosures`, with provenance and what changed since the last version recorded.
- `registry`: reading a recorded version back from the store (`Declared`).
- `match`: which GVL vendor a request, cookie, bidder code, user id (eid) or TC-string id belongs to.
- `conduct`: declared versus observed per crawl, site, phase and vendor (`vendor_conduct`, a rollup).
"""
