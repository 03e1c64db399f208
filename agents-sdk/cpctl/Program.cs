using System.CommandLine;
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
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var error in parse.Errors)
                {
                    await environment.Error.WriteLineAsync("cpctl: " + error.Message);
                }
                await environment.Error.WriteLineAsync("Run 'cpctl --help' (or 'cpctl <agent> --help') for usage.");
                return ExitCodes.Usage;
            }
            var code = await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = environment.Output,
                Error = environment.Error,
                // Ctrl-C cancels the action, which then still drains and deregisters what it holds (sd register): give it the time.
                ProcessTerminationTimeout = TimeSpan.FromSeconds(15),
            });
            // A command with subcommands but no action (`cpctl lb-policy`) prints its help: a usage error.
            return parse.Action is null ? ExitCodes.Usage : code;
        }

        /// <summary>
        /// The command tree: one command per agent, one subcommand per action. More commands (the
        /// MCP server, `cpctl mcp`) are added to the root here.
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
            return root;
        }
    }
}
