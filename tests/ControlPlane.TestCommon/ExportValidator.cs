using System.Diagnostics;
using System.Text;

namespace ControlPlane.TestCommon;

/// <summary>
/// Checks billing exports with an independent implementation (the control plane's billing tests, and the
/// billing-export-agent's own validator is held to it):
/// python's jsonschema (Debian's python3-jsonschema) against contracts/lb_billing_export.schema.json,
/// and hashlib's SHA-256 over the received bytes with the checksum member cut out.
/// </summary>
public static class ExportValidator
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import hashlib, json, sys
        import jsonschema
        schema = json.load(open(sys.argv[1], encoding="utf-8"))
        raw = sys.stdin.buffer.read()
        doc = json.loads(raw)
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            print("schema: " + "; ".join("/".join(map(str, e.path)) + ": " + e.message for e in errors))
            sys.exit(1)
        member = b',"checksum":"' + doc["checksum"].encode("ascii") + b'"'
        if raw.count(member) != 1:
            print("checksum member not found exactly once")
            sys.exit(2)
        if hashlib.sha256(raw.replace(member, b"")).hexdigest() != doc["checksum"]:
            print("checksum does not match the document")
            sys.exit(3)
        print("ok")
        """;

    private static readonly Lazy<Task<string?>> Probe = new(() => RunAsync(["-c", "import jsonschema"], []));

    public static string SchemaPath => Path.Combine(ExternalTools.RepoRoot(), "contracts", "lb_billing_export.schema.json");

    /// <summary>Skips locally (fails in CI) when python3-jsonschema is missing.</summary>
    public static async Task RequireAsync()
    {
        ExternalTools.Require(Python, "apt-get install python3 python3-jsonschema");
        if (await Probe.Value.DefaultTimeout() is { } problem)
        {
            ExternalTools.Unavailable($"{Python} cannot import jsonschema: {problem} (apt-get install python3-jsonschema)");
        }
    }

    /// <summary>Null when <paramref name="body"/> is a valid export whose checksum matches its bytes; else what is wrong.</summary>
    public static Task<string?> ValidateAsync(byte[] body) => RunAsync(["-c", Script, SchemaPath], body);

    private static async Task<string?> RunAsync(string[] args, byte[] input)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(input).AsTask().DefaultTimeout();
        process.StandardInput.Close();
        await process.WaitForExitAsync().DefaultTimeout();
        return process.ExitCode == 0 ? null : ((await output.DefaultTimeout()) + (await error.DefaultTimeout())).Trim();
    }
}
