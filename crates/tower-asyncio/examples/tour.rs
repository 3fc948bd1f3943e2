//! A printed walk through the tower, tier by tier.

fn main() {
    println!("tower: the tour (tiers are being built)");
}
