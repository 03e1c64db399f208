using System.CommandLine;
using System.CommandLine.Parsing;
using ControlPlane.Agents;
using ControlPlane.Cli;

// cpctl <agent> <action> [flags]: the agents of ControlPlane.Agents, one command per catalogue
// action. Exit codes: 0 ok, 1 error, 2 usage, 3 approval required (see ExitCodes).
var environment = new CliEnvironment(Console.Out, Console.Error, Environment.GetEnvironmentVariable, !Console.IsErrorRedirected);
return await Cpctl.RunAsync(args, environment);

namespace ControlPlane.Cli
{
    internal static class Cpctl
    {
        public static async Task<int> RunAsync(string[] args, CliEnvironment environment)
        {
            var root = Build(environment);
            ParseResult parse;
            try
            {
                // No response files: an argument starting with '@' is a value (a reason, --allow-list @file that
                // cpctl reads itself), never a file whose contents System.CommandLine splices into the command line.
                parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            }
#pragma warning disable CA1031 // whatever the parser throws is a usage error of one line, never a stack trace
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return await UsageErrorAsync(environment, args, null, [$"cannot parse the command line: {ex.Message}"]).ConfigureAwait(false);
            }
            if (parse.Errors.Count > 0)
            {
                var unmatched = parse.UnmatchedTokens.Where(t => !Echoable(t, args)).ToHashSet(StringComparer.Ordinal);
                return await UsageErrorAsync(environment, args, parse.CommandResult.Command, [.. parse.Errors.Select(e => Unechoed(e.Message, unmatched))]).ConfigureAwait(false);
            }
            try
            {
                var code = await parse.InvokeAsync(new InvocationConfiguration
                {
                    Output = environment.Output,
                    Error = environment.Error,
                    // Ctrl-C cancels the action, which then still drains and deregisters what it holds (sd register): give it the time.
                    ProcessTerminationTimeout = TimeSpan.FromSeconds(15),
                    EnableDefaultExceptionHandler = false,
                });
                // A command with subcommands but no action (`cpctl lb-policy`) prints its help: a usage error.
                return parse.Action is null ? ExitCodes.Usage : code;
            }
            catch (OperationCanceledException)
            {
                await environment.Error.WriteLineAsync("cpctl: cancelled").ConfigureAwait(false);
                return ExitCodes.Error;
            }
#pragma warning disable CA1031 // a bug must still end in one line and an exit code, not a stack trace
            catch (Exception ex)
#pragma warning restore CA1031
            {
                await environment.Error.WriteLineAsync($"cpctl: internal error ({ex.GetType().Name}): {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Error;
            }
        }

        /// <summary>
        /// The parse errors on stderr (and, with --output json, an error envelope on stdout); exit 2.
        /// </summary>
        private static async Task<int> UsageErrorAsync(CliEnvironment environment, string[] args, Command? command, IReadOnlyList<string> errors)
        {
            foreach (var error in errors)
            {
                await environment.Error.WriteLineAsync("cpctl: " + error).ConfigureAwait(false);
            }
            await environment.Error.WriteLineAsync("Run 'cpctl --help' (or 'cpctl <agent> --help') for usage.").ConfigureAwait(false);
            if (WantsJson(args))
            {
                var action = command is null ? null : AgentActionCatalog.All.FirstOrDefault(a => a.Name == command.Name && command.Parents.OfType<Command>().Any(p => p.Name == a.AgentInfo.Command));
                await Printer.PrintAsync(UsageEnvelopes.Create(action, AgentErrorCodes.InvalidRequest, string.Join("; ", errors), RequestId(args)), json: true, environment).ConfigureAwait(false);
            }
            return ExitCodes.Usage;
        }

        /// <summary>Flag names and a first word (a command) are echoed in errors; other values are not (a misspelled --platfrom-token's value is a secret).</summary>
        private static bool Echoable(string token, string[] args) => token.StartsWith('-') || (args.Length > 0 && args[0] == token);

        private static string Unechoed(string message, HashSet<string> hidden)
        {
            foreach (var token in hidden)
            {
                message = message.Replace($"'{token}'", "(a value, not shown)", StringComparison.Ordinal);
            }
            return message;
        }

        /// <summary>Whether the command line asks for JSON output, read from the raw arguments (they may not parse).</summary>
        internal static bool WantsJson(IReadOnlyList<string> args)
        {
            for (var i = 0; i < args.Count; i++)
            {
                if (args[i] is "--output=json" or "-o=json" or "-ojson" || (args[i] is "--output" or "-o" && i + 1 < args.Count && args[i + 1] == "json"))
                {
                    return true;
                }
            }
            return false;
        }

        private static string? RequestId(IReadOnlyList<string> args)
        {
            for (var i = 0; i + 1 < args.Count; i++)
            {
                if (args[i] is "--request-id" or "--trace-id")
                {
                    return args[i + 1];
                }
            }
            return null;
        }

        /// <summary>
        /// The command tree: one command per agent, one subcommand per action. More commands (the
        /// MCP server, `cpctl mcp`; a node's dataplane token, `cpctl dataplane-token`) are added to the root here.
        /// </summary>
        public static RootCommand Build(CliEnvironment environment)
        {
            var root = new RootCommand("cpctl: the control plane's operating agents (platform-agents-spec). Exit codes: 0 ok, 1 error, 2 usage, 3 approval required.");
            var global = new GlobalOptions();
            global.AddTo(root);
            foreach (var agent in AgentActionCatalog.All.GroupBy(a => a.AgentInfo))
            {
                root.Subcommands.Add(ActionCommand.ForAgent(agent, global, environment));
            }
            root.Subcommands.Add(McpCommand.Create(global, environment));
            root.Subcommands.Add(DataplaneTokenCommand.Create(global, environment));
            return root;
        }
    }
}
