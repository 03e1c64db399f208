using System.Globalization;
using ControlPlane.Sdk;

namespace ControlPlane.Agents;

/// <summary>
/// The agents' configuration (platform-agents-spec §3), from the environment and then flags (flags
/// win). The reference's two bases map onto this platform's ports as follows:
/// <list type="bullet">
/// <item><c>AGENT_SD_BASE</c>: the control plane's gRPC address(es) (8001), comma-separated for
/// failover; every API call goes there through ControlPlane.Sdk.</item>
/// <item><c>AGENT_LB_BASE</c>: the control plane's HTTP base (8000): <c>/readyz</c>, <c>/metrics</c>
/// and the REST billing export, whose checksum is defined over the REST body's bytes.</item>
/// <item><c>AGENT_DATAPLANES</c>: the dataplane nodes' HTTP bases (8080), comma-separated: the
/// edge proxy <c>/g/{image}/{path}</c> and their <c>/readyz</c>.</item>
/// </list>
/// The platform token is never an option: it is read from <c>AGENT_PLATFORM_TOKEN</c> or the file
/// named by <c>AGENT_PLATFORM_TOKEN_FILE</c> (the file wins), and only its variable names are held here.
/// </summary>
public sealed record AgentOptions
{
    /// <summary>Control-plane gRPC addresses (AGENT_SD_BASE). Default http://localhost:8001.</summary>
    public IReadOnlyList<Uri> SdBase { get; init; } = [new Uri("http://localhost:8001")];

    /// <summary>Control-plane HTTP base (AGENT_LB_BASE). Default http://localhost:8000.</summary>
    public Uri LbBase { get; init; } = new("http://localhost:8000");

    /// <summary>Dataplane HTTP bases (AGENT_DATAPLANES). Default http://localhost:8080.</summary>
    public IReadOnlyList<Uri> Dataplanes { get; init; } = [new Uri("http://localhost:8080")];

    /// <summary>Deadline of each request attempt (AGENT_REQUEST_TIMEOUT_S). Default 5 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries of idempotent requests after the first attempt (AGENT_RETRY). Default 2.</summary>
    public int Retry { get; init; } = 2;

    /// <summary>Where alerts and announcements go (AGENT_USER_CHANNEL): an http(s) webhook URL gets a JSON POST; anything else (a channel name) is only logged.</summary>
    public string? UserChannel { get; init; }

    /// <summary>Requests per second each agent may send to the platform's APIs (AGENT_RATE_LIMIT_QPS). Default 10.</summary>
    public double RateLimitQps { get; init; } = 10;

    /// <summary>The environment the targets belong to (AGENT_ENV), e.g. "dev", "staging", "production"; trafficgen refuses production without allow_prod and approval.</summary>
    public string? Environment { get; init; }

    /// <summary>Variable holding the platform token. Default AGENT_PLATFORM_TOKEN.</summary>
    public string PlatformTokenVariable { get; init; } = "AGENT_PLATFORM_TOKEN";

    /// <summary>Variable naming a file holding the platform token (wins). Default AGENT_PLATFORM_TOKEN_FILE.</summary>
    public string PlatformTokenFileVariable { get; init; } = "AGENT_PLATFORM_TOKEN_FILE";

    /// <summary>Also write Information-level JSON logs (each call), not only warnings and errors. Default true.</summary>
    public bool VerboseLogs { get; init; } = true;

    /// <summary>True when <see cref="Environment"/> names production ("production" or "prod").</summary>
    public bool IsProduction => Environment is { } env && (env.Equals("production", StringComparison.OrdinalIgnoreCase) || env.Equals("prod", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The options from the environment (<paramref name="getVariable"/>, default the process's).
    /// Throws <see cref="ArgumentException"/> naming the variable when a value is malformed.
    /// </summary>
    public static AgentOptions FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= System.Environment.GetEnvironmentVariable;
        var options = new AgentOptions();
        string? Get(string name) => getVariable(name) is { Length: > 0 } v ? v.Trim() : null;
        if (Get("AGENT_SD_BASE") is { } sd)
        {
            options = options with { SdBase = ParseControlPlaneUris("AGENT_SD_BASE", sd) };
        }
        if (Get("AGENT_LB_BASE") is { } lb)
        {
            options = options with { LbBase = ParseUri("AGENT_LB_BASE", lb) };
        }
        if (Get("AGENT_DATAPLANES") is { } dataplanes)
        {
            options = options with { Dataplanes = ParseUris("AGENT_DATAPLANES", dataplanes) };
        }
        if (Get("AGENT_REQUEST_TIMEOUT_S") is { } timeout)
        {
            options = options with { RequestTimeout = ParseSeconds("AGENT_REQUEST_TIMEOUT_S", timeout) };
        }
        if (Get("AGENT_RETRY") is { } retry)
        {
            options = options with { Retry = ParseRetry("AGENT_RETRY", retry) };
        }
        if (Get("AGENT_RATE_LIMIT_QPS") is { } qps)
        {
            options = options with { RateLimitQps = ParseQps("AGENT_RATE_LIMIT_QPS", qps) };
        }
        return options with { UserChannel = Get("AGENT_USER_CHANNEL"), Environment = Get("AGENT_ENV") };
    }

    /// <summary>Absolute http(s) URIs from a comma-separated list; <paramref name="source"/> names the variable or flag in errors.</summary>
    public static IReadOnlyList<Uri> ParseUris(string source, string value) => ParseList(source, value, ParseUri);

    /// <summary>Control-plane addresses (<see cref="ParseControlPlaneUri"/>) from a comma-separated list.</summary>
    public static IReadOnlyList<Uri> ParseControlPlaneUris(string source, string value) => ParseList(source, value, ParseControlPlaneUri);

    private static List<Uri> ParseList(string source, string value, Func<string, string, Uri> parse)
    {
        ArgumentNullException.ThrowIfNull(value);
        var uris = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => parse(source, v)).ToList();
        return uris.Count > 0 ? uris : throw new ArgumentException($"{source}: no address given.");
    }

    /// <summary>An absolute http(s) URI; <paramref name="source"/> names the variable or flag in errors.</summary>
    public static Uri ParseUri(string source, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new ArgumentException($"{source}: '{value}' is not an absolute http(s) URL.");

    /// <summary>A control-plane address (<see cref="ControlPlaneAddress"/>: scheme, host and port, no credentials); <paramref name="source"/> names the variable or flag in errors.</summary>
    public static Uri ParseControlPlaneUri(string source, string value) =>
        ControlPlaneAddress.Problem(value) is { } problem ? throw new ArgumentException($"{source}: {problem}.") : new Uri(value);

    /// <summary>Seconds, 0.001-3600 (fractions allowed).</summary>
    public static TimeSpan ParseSeconds(string source, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is >= 0.001 and <= 3600
            ? TimeSpan.FromSeconds(s)
            : throw new ArgumentException($"{source}: '{value}' is not a number of seconds between 0.001 and 3600.");

    /// <summary>A retry count, 0-10.</summary>
    public static int ParseRetry(string source, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 10
            ? n
            : throw new ArgumentException($"{source}: '{value}' is not a retry count between 0 and 10.");

    /// <summary>Requests per second, 0.1-10000.</summary>
    public static double ParseQps(string source, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var q) && q is >= 0.1 and <= 10_000
            ? q
            : throw new ArgumentException($"{source}: '{value}' is not a rate between 0.1 and 10000 requests per second.");
}
