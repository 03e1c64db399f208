using System.CommandLine;
using System.CommandLine.Parsing;
using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>
/// The flags every action takes: how it runs (--dry-run, --approve, --output, --request-id), its
/// input as JSON (--input, --input-file), and the configuration, overriding the environment
/// (AGENT_SD_BASE ...). There is deliberately no flag for the token: a --token is refused.
/// </summary>
internal sealed class GlobalOptions
{
    public Option<string> Output { get; } = new("--output", "-o") { Description = "table (default) or json (the envelope).", DefaultValueFactory = _ => "table", Recursive = true };

    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "Print the requests the action would send (token redacted) and send nothing.", Recursive = true };

    public Option<bool> Approve { get; } = new("--approve") { Description = "A human approves this change (needed for deletes, chaos, major policy changes).", Recursive = true };

    public Option<string> RequestId { get; } = new("--request-id", "--trace-id") { Description = "Use this X-Request-ID as the trace id (default a new one).", Recursive = true };

    public Option<string> Input { get; } = new("--input") { Description = "The action's input as a JSON object (flags override its members).", Recursive = true };

    public Option<string> InputFile { get; } = new("--input-file", "--file", "-f") { Description = "Read the action's input (a JSON object) from a file, e.g. the sd-agent's {\"instances\": [...]}.", Recursive = true };

    public Option<string> SdBase { get; } = new("--sd-base") { Description = "Control-plane gRPC address(es), comma-separated (AGENT_SD_BASE; default http://localhost:8001).", Recursive = true };

    public Option<string> LbBase { get; } = new("--lb-base") { Description = "Control-plane HTTP base: /readyz, /metrics, billing export (AGENT_LB_BASE; default http://localhost:8000).", Recursive = true };

    public Option<string> Dataplanes { get; } = new("--dataplanes") { Description = "Dataplane base URLs, comma-separated (AGENT_DATAPLANES; default http://localhost:8080).", Recursive = true };

    public Option<string> TimeoutS { get; } = new("--timeout-s") { Description = "Deadline of each request, seconds (AGENT_REQUEST_TIMEOUT_S; default 5).", Recursive = true };

    public Option<string> Retry { get; } = new("--retry") { Description = "Retries of idempotent requests (AGENT_RETRY; default 2).", Recursive = true };

    public Option<string> UserChannel { get; } = new("--user-channel") { Description = "Webhook URL for alerts and incidents (AGENT_USER_CHANNEL).", Recursive = true };

    public Option<string> RateLimitQps { get; } = new("--rate-limit-qps") { Description = "Requests per second to the platform's APIs (AGENT_RATE_LIMIT_QPS; default 10).", Recursive = true };

    public Option<string> Environment { get; } = new("--env") { Description = "The targets' environment, e.g. dev or production (AGENT_ENV).", Recursive = true };

    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "Log only warnings and errors (stderr).", Recursive = true };

    public Option<string> Token { get; } = new("--token", "--platform-token") { Hidden = true, Recursive = true };

    public void AddTo(Command root)
    {
        Output.AcceptOnlyFromAmong("table", "json");
        foreach (var option in new Option[] { Output, DryRun, Approve, RequestId, Input, InputFile, SdBase, LbBase, Dataplanes, TimeoutS, Retry, UserChannel, RateLimitQps, Environment, Quiet, Token })
        {
            root.Options.Add(option);
        }
    }

    /// <summary>The environment's configuration with the flags given applied; <see cref="ArgumentException"/> names a malformed one.</summary>
    public AgentOptions Resolve(ParseResult result, Func<string, string?> getVariable)
    {
        if (result.GetResult(Token) is not null)
        {
            throw new ArgumentException("the platform token is never taken from a flag (it would show in process lists and shell history): set AGENT_PLATFORM_TOKEN or AGENT_PLATFORM_TOKEN_FILE");
        }
        var options = AgentOptions.FromEnvironment(getVariable);
        if (result.GetValue(SdBase) is { } sd)
        {
            options = options with { SdBase = AgentOptions.ParseControlPlaneUris("--sd-base", sd) };
        }
        if (result.GetValue(LbBase) is { } lb)
        {
            options = options with { LbBase = AgentOptions.ParseUri("--lb-base", lb) };
        }
        if (result.GetValue(Dataplanes) is { } dataplanes)
        {
            options = options with { Dataplanes = AgentOptions.ParseUris("--dataplanes", dataplanes) };
        }
        if (result.GetValue(TimeoutS) is { } timeout)
        {
            options = options with { RequestTimeout = AgentOptions.ParseSeconds("--timeout-s", timeout) };
        }
        if (result.GetValue(Retry) is { } retry)
        {
            options = options with { Retry = AgentOptions.ParseRetry("--retry", retry) };
        }
        if (result.GetValue(RateLimitQps) is { } qps)
        {
            options = options with { RateLimitQps = AgentOptions.ParseQps("--rate-limit-qps", qps) };
        }
        if (result.GetValue(UserChannel) is { } channel)
        {
            options = options with { UserChannel = channel };
        }
        if (result.GetValue(Environment) is { } env)
        {
            options = options with { Environment = env };
        }
        return options with { VerboseLogs = !result.GetValue(Quiet) };
    }
}
