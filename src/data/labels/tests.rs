use super::*;

#[test]
fn a_table_gives_labels_and_groups_and_names_its_problems() {
    let table = LabelTable::parse(
        "Path,Label,group\nimg/a.png,normal,p1\n./img\\b.png, pneumonia ,p1\nc.png,normal,\n",
    )
    .unwrap();
    assert!(table.has_groups);
    assert_eq!(table.row("img/a.png").unwrap().label, "normal");
    assert_eq!(table.row("img/b.png").unwrap().label, "pneumonia");
    assert_eq!(table.row("img/b.png").unwrap().group.as_deref(), Some("p1"));
    assert_eq!(table.row("c.png").unwrap().group, None);
    assert_eq!(table.routed("c.png").as_deref(), Some("normal/c.png"));
    assert_eq!(table.routed("d.png"), None);
    let report = table.report(["img/a.png", "c.png", "d.png"]);
    assert_eq!(
        (report.rows, report.missing.clone()),
        (3, vec!["img/b.png".to_string()])
    );

    let no_label = LabelTable::parse("file,class\na.png,x\n").unwrap_err();
    assert!(no_label.contains("\"path\" and a \"label\""), "{no_label}");
    let twice = LabelTable::parse("path,label\na.png,x\na.png,y\n").unwrap_err();
    assert!(
        twice.contains("line 3") && twice.contains("both"),
        "{twice}"
    );
    let slash = LabelTable::parse("path,label\na.png,x/y\n").unwrap_err();
    assert!(slash.contains("line 2"), "{slash}");
}
