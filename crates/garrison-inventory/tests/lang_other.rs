//! Gemfile.lock, composer.lock and packages.lock.json, written by hand to their
//! published formats (fixtures/lockfiles/other/).

mod lang_support;
use garrison_inventory::lang::dotnet::NugetLock;
use garrison_inventory::lang::php::ComposerLock;
use garrison_inventory::lang::ruby::GemfileLock;
use garrison_model::{purl_for, Ecosystem};
use lang_support::*;

#[test]
fn gemfile_lock_specs() {
    let p = parse(&GemfileLock, "other/ruby/Gemfile.lock");
    assert_eq!(
        name_versions(&p),
        [
            "mini_portile2 2.8.7",
            "nokogiri 1.16.6",
            "racc 1.8.0",
            "rack 3.1.0.pre",
            "rake 13.2.1",
            "rspec 3.13.0",
            "rspec-core 3.13.0",
            "rspec-support 3.13.1"
        ]
    );
    let direct: Vec<&str> = p
        .packages
        .iter()
        .filter(|p| p.direct == Some(true))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(direct, ["rack", "nokogiri", "rake", "rspec"]);
    assert!(p
        .packages
        .iter()
        .all(|p| p.ecosystem == Ecosystem::RubyGems));
    let nokogiri = p.packages.iter().find(|p| p.name == "nokogiri").unwrap();
    assert_eq!(purl_for(nokogiri, None).unwrap(), "pkg:gem/nokogiri@1.16.6");
}

#[test]
fn composer_lock_packages_and_dev() {
    let p = parse(&ComposerLock, "other/php/composer.lock");
    let got: Vec<String> = p
        .packages
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p.name,
                p.version,
                p.dev,
                p.licenses.join("|")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "monolog/monolog 3.7.0 false MIT",
            "psr/log 3.0.0 false MIT",
            "symfony/polyfill-mbstring v1.30.0 false MIT|BSD-3-Clause",
            "phpunit/phpunit 10.5.24 true BSD-3-Clause"
        ]
    );
    assert_eq!(
        purl_for(&p.packages[0], None).unwrap(),
        "pkg:composer/monolog/monolog@3.7.0"
    );
}

#[test]
fn nuget_lock_across_frameworks() {
    let p = parse(&NugetLock, "other/dotnet/packages.lock.json");
    let got: Vec<String> = p
        .packages
        .iter()
        .map(|p| format!("{} {} {:?}", p.name, p.version, p.direct))
        .collect();
    assert_eq!(
        got,
        [
            "Newtonsoft.Json 13.0.3 Some(true)",
            "Serilog 3.1.1 Some(true)",
            "System.Text.Encodings.Web 8.0.0 Some(false)",
            "System.Text.Json 8.0.4 Some(false)"
        ]
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(
        purl_for(&p.packages[0], None).unwrap(),
        "pkg:nuget/Newtonsoft.Json@13.0.3"
    );
}
