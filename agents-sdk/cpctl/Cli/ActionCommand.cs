using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>
/// <c>cpctl &lt;agent&gt; &lt;action&gt;</c>: one command per catalogue action. It reads the input
/// (file, --input, flags), builds the runtime from the environment and flags, runs the action and
/// prints its envelope. <c>sd register</c> then keeps the instances alive until Ctrl-C, and
/// deregisters them on the way out.
/// </summary>
internal static class ActionCommand
{
    public static Command ForAgent(IGrouping<AgentInfo, AgentAction> agent, GlobalOptions global, CliEnvironment environment)
    {
        var command = new Command(agent.Key.Command, $"{agent.Key.Name}: {agent.Key.Description}");
        foreach (var action in agent)
        {
            command.Subcommands.Add(Create(action, global, environment));
        }
        return command;
    }

    private static Command Create(AgentAction action, GlobalOptions global, CliEnvironment environment)
    {
        var approval = action.Approval switch
        {
            ApprovalRule.Always => " Needs --approve.",
            ApprovalRule.Conditional => " May need --approve (exit code 3 says so, and nothing is changed).",
            _ => "",
        };
        var command = new Command(action.Name, action.Description + approval);
        foreach (var alias in action.Aliases)
        {
            command.Aliases.Add(alias);
        }
        var inputs = new InputOptions(action, command);
        command.SetAction(async (parse, ct) =>
        {
            var json = parse.GetValue(global.Output) == "json";
            AgentOptions options;
            JsonObject input;
            AgentRuntime runtime;
            try
            {
                options = global.Resolve(parse, environment.GetVariable);
            }
            catch (ArgumentException ex)
            {
                return await UsageAsync(AgentErrorCodes.ConfigInvalid, ex.Message).ConfigureAwait(false);
            }
            try
            {
                input = inputs.Read(parse, ReadInput(parse, global));
            }
            catch (Exception ex) when (ex is UsageException or ArgumentException)
            {
                return await UsageAsync(AgentErrorCodes.InvalidRequest, ex.Message).ConfigureAwait(false);
            }
            try
            {
                runtime = new AgentRuntime(options, log: environment.Error);
            }
            catch (ArgumentException ex)
            {
                return await UsageAsync(AgentErrorCodes.ConfigInvalid, ex.Message).ConfigureAwait(false);
            }

            // Before the action runs: one line on stderr and, in json mode, the error envelope on stdout.
            async Task<int> UsageAsync(string code, string message)
            {
                await environment.Error.WriteLineAsync($"cpctl {action.AgentInfo.Command} {action.Name}: {message}").ConfigureAwait(false);
                if (json)
                {
                    await Printer.PrintAsync(UsageEnvelopes.Create(action, code, message, parse.GetValue(global.RequestId)), json: true, environment).ConfigureAwait(false);
                }
                return ExitCodes.Usage;
            }
            await using (runtime.ConfigureAwait(false))
            {
                var context = new AgentRunContext
                {
                    Runtime = runtime,
                    DryRun = parse.GetValue(global.DryRun),
                    Approve = parse.GetValue(global.Approve),
                    Output = json ? AgentOutput.Json : AgentOutput.Table,
                    TraceId = parse.GetValue(global.RequestId),
                    Progress = environment.ErrorIsTerminal && !json ? environment.Error : null,
                };
                var envelope = await action.RunAsync(JsonSerializer.SerializeToElement(input), context, ct).ConfigureAwait(false);
                await Printer.PrintAsync(envelope, json, environment).ConfigureAwait(false);
                if (envelope.Ok && runtime.HeartbeatingInstances > 0)
                {
                    return await HoldAsync(runtime, environment, ct).ConfigureAwait(false);
                }
                return ExitCodes.Of(envelope);
            }
        });
        return command;
    }

    private static JsonObject ReadInput(System.CommandLine.ParseResult parse, GlobalOptions global)
    {
        var input = new JsonObject();
        if (parse.GetValue(global.InputFile) is { } file)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--input-file {file}: {ex.Message}");
            }
            Merge(input, Parse(text, $"--input-file {file}"));
        }
        if (parse.GetValue(global.Input) is { } inline)
        {
            Merge(input, Parse(inline, "--input"));
        }
        return input;
    }

    private static JsonObject Parse(string text, string source)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new UsageException($"{source}: the input must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{source}: not JSON: {ex.Message}");
        }
    }

    private static void Merge(JsonObject into, JsonObject from)
    {
        foreach (var (key, value) in from)
        {
            into[key] = value?.DeepClone();
        }
    }

    /// <summary>
    /// The sd-agent's heartbeats live as long as this process: hold it until Ctrl-C, then drain and
    /// deregister. Exit 1 when some instance could not be deregistered (it stays until its lease ends).
    /// </summary>
    private static async Task<int> HoldAsync(AgentRuntime runtime, CliEnvironment environment, CancellationToken ct)
    {
        await environment.Error.WriteLineAsync($"cpctl: keeping {runtime.HeartbeatingInstances} instance(s) alive; Ctrl-C (SIGINT/SIGTERM) to deregister them and exit").ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // asked to stop
        }
        using var shutdown = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var held = runtime.HeartbeatingInstances;
        var failed = await runtime.StopHeartbeatsAsync(shutdown.Token).ConfigureAwait(false);
        if (failed.Count == 0)
        {
            await environment.Error.WriteLineAsync("cpctl: instances drained and deregistered").ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        foreach (var (id, reason) in failed.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            await environment.Error.WriteLineAsync($"cpctl: {id} could not be deregistered ({reason})").ConfigureAwait(false);
        }
        await environment.Error.WriteLineAsync($"cpctl: {failed.Count} of {held} instance(s) not deregistered: they stay registered until their leases run out; "
            + $"remove them with: cpctl sd deregister {string.Join(' ', failed.Keys.Order(StringComparer.Ordinal))} --approve").ConfigureAwait(false);
        return ExitCodes.Error;
    }
}

/// <summary>What cpctl reads and writes (the process's, or a test's).</summary>
internal sealed record CliEnvironment(TextWriter Output, TextWriter Error, Func<string, string?> GetVariable, bool ErrorIsTerminal);
