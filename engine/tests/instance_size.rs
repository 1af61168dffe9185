//! What a `vrrp_instance` costs the VRRP child: the engine holds one [`Instance`], its
//! configuration inside, for each, so 1,000 instances cost 1,000 times these sizes
//! before anything they point to. Rarely set parts of the configuration (notify
//! scripts, `use_vmac`, `auth_hmac`) are boxed to keep them out of the common case;
//! these bounds catch a change that puts them back inline.

use keepalived_engine::config::model::{Notifies, VrrpInstance};
use keepalived_engine::vrrp::instance::Instance;
use std::mem::size_of;

#[test]
fn an_instance_and_its_configuration_stay_within_their_sizes() {
    let (config, instance, notifies) = (
        size_of::<VrrpInstance>(),
        size_of::<Instance>(),
        size_of::<Notifies>(),
    );
    eprintln!("VrrpInstance {config} B, Instance {instance} B, Notifies {notifies} B");
    assert!(notifies <= 40, "five notify slots take {notifies} bytes");
    assert!(
        config <= 700,
        "an instance's configuration takes {config} bytes"
    );
    assert!(instance <= 1_344, "an instance takes {instance} bytes");
}
