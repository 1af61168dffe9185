//! The host's interfaces as the MIBs show them (ifIndex, MAC, first IPv4 address, IPv6
//! link-local), read with getifaddrs(3) on the sub-agent's thread when a tree is built.

use std::net::{Ipv4Addr, Ipv6Addr};

use keepalived_engine::snmp::HostInterfaces;

/// Every interface of this network namespace; empty if they cannot be read.
pub fn interfaces() -> HostInterfaces {
    let mut out = HostInterfaces::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list freed below with freeifaddrs; every
    // pointer read is checked for null and read only while the list lives.
    unsafe {
        if libc::getifaddrs(&mut head) != 0 {
            return out;
        }
        let mut p = head;
        while !p.is_null() {
            let ifa = &*p;
            p = ifa.ifa_next;
            if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                .to_string_lossy()
                .into_owned();
            // An alias label (eth0:vip) is its interface's address.
            let base = name.split(':').next().unwrap_or(&name).to_string();
            let entry = out.entry(base.clone()).or_default();
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_PACKET if base == name => {
                    let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    entry.index = ll.sll_ifindex as u32;
                    if ll.sll_halen == 6 {
                        entry.mac.copy_from_slice(&ll.sll_addr[..6]);
                    }
                }
                libc::AF_INET if entry.ipv4.is_none() => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    entry.ipv4 = Some(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)));
                }
                libc::AF_INET6 if entry.ipv6_link_local.is_none() => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let v6 = Ipv6Addr::from(a.sin6_addr.s6_addr);
                    if v6.segments()[0] & 0xffc0 == 0xfe80 {
                        entry.ipv6_link_local = Some(v6);
                    }
                }
                _ => {}
            }
        }
        libc::freeifaddrs(head);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_is_read_with_its_index_and_address() {
        let ifs = super::interfaces();
        let lo = ifs.get("lo").expect("every namespace has lo");
        assert!(lo.index > 0);
        assert_eq!(lo.ipv4, Some(std::net::Ipv4Addr::LOCALHOST));
    }
}
