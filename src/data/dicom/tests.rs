use super::*;

#[test]
fn the_window_formula_gives_the_standards_values() {
    // PS3.3 C.11.2.1.2.1 with center 40, width 400: the edges are -160 and 239.
    assert_eq!(apply_window(-160.0, 40.0, 400.0), 0);
    assert_eq!(apply_window(-159.5, 40.0, 400.0), 0);
    assert_eq!(apply_window(40.0, 40.0, 400.0), 128);
    assert_eq!(apply_window(239.0, 40.0, 400.0), 255);
    assert_eq!(apply_window(239.5, 40.0, 400.0), 255);
    // A width of 1 is a threshold at the center.
    assert_eq!(apply_window(9.0, 10.0, 1.0), 0);
    assert_eq!(apply_window(10.0, 10.0, 1.0), 255);
}

#[test]
fn windows_parse_from_names_and_numbers() {
    assert_eq!(Window::parse("from-file"), Ok(Window::FromFile));
    assert_eq!(Window::parse("min-max"), Ok(Window::MinMax));
    assert_eq!(
        Window::parse("lung"),
        Ok(Window::Fixed {
            center: -600.0,
            width: 1500.0
        })
    );
    assert_eq!(Window::parse(" 50 , 350 ").unwrap().name(), "mediastinum");
    assert_eq!(Window::parse("30,60").unwrap().name(), "30,60");
    assert!(Window::parse("30,0").is_err() && Window::parse("liver").is_err());
}

#[test]
fn dicom_is_recognised_by_its_marker_not_its_name() {
    let mut bytes = vec![0u8; 132];
    bytes[128..132].copy_from_slice(b"DICM");
    assert!(is_dicom(&bytes));
    assert!(!is_dicom(b"\\x89PNG\\r\\n"));
    // Without file meta, a file is refused with a reason, never a panic.
    let reason = decode_dicom(&bytes, 32, &DecodeLimits::default()).unwrap_err();
    assert!(!reason.to_string().is_empty());
}
