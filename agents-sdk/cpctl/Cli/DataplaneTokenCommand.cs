using System.CommandLine;
using ControlPlane.Api.Auth;

namespace ControlPlane.Cli;

/// <summary>
/// <c>cpctl dataplane-token NODE_ID</c>: the per-node dataplane token of a node, made from the node
/// key the control plane verifies with (<c>DATAPLANE_NODE_KEY</c>, or the file
/// <c>DATAPLANE_NODE_KEY_FILE</c> names; several keys one per line, the first issues). Nothing is
/// sent anywhere. The token goes to stdout alone, for the node's <c>DATAPLANE_TOKEN_FILE</c>; with
/// <c>--output json</c>, <c>{"node_id", "token"}</c>. Errors (no key, a short key, an id no node can
/// have) are usage errors, exit 2, and never show a key.
/// </summary>
internal static class DataplaneTokenCommand
{
    public static Command Create(GlobalOptions global, CliEnvironment environment)
    {
        var nodeId = new Argument<string>("node-id") { Description = "The node's id (its Dataplane__NodeId): printable ASCII without spaces, at most 128 characters." };
        var command = new Command("dataplane-token",
            $"Print the per-node dataplane token of a node, made with the key in {DataplaneNodeTokens.KeyVariable} or the file {DataplaneNodeTokens.KeyFileVariable} names (sends nothing).");
        command.Arguments.Add(nodeId);
        command.SetAction(async (parse, ct) =>
        {
            var id = parse.GetValue(nodeId) ?? "";
            string token;
            try
            {
                token = ReadKeys(environment.GetVariable).Issue(id);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                await environment.Error.WriteLineAsync("cpctl dataplane-token: " + ex.Message).ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            var line = parse.GetValue(global.Output) == "json"
                ? System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["node_id"] = id, ["token"] = token })
                : token;
            await environment.Output.WriteLineAsync(line).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The keys as the control plane reads them (<see cref="SecretSource"/>: the file wins over the variable).</summary>
    private static DataplaneNodeTokens ReadKeys(Func<string, string?> getVariable)
    {
        var (keys, source) = SecretSource.Read(DataplaneNodeTokens.KeyVariable, DataplaneNodeTokens.KeyFileVariable, getVariable);
        return string.IsNullOrEmpty(keys)
            ? throw new InvalidOperationException($"no node key: set {DataplaneNodeTokens.KeyVariable} or {DataplaneNodeTokens.KeyFileVariable} (the control plane's node keys)")
            : DataplaneNodeTokens.FromKeys(keys, source);
    }
}
