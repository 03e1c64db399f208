namespace ControlPlane.Sdk.Internal;

/// <summary>
/// A token and where it came from. <see cref="ToString"/> never shows the value, so a secret that
/// ends up in a log message or an exception by mistake prints as its source only.
/// </summary>
internal sealed class Secret(string value, string source)
{
    public string Value { get; } = value;

    /// <summary>The variable it was read from (safe to log).</summary>
    public string Source { get; } = source;

    public override string ToString() => $"<secret from {Source}>";

    /// <summary>
    /// Reads a secret as the control plane reads its own: from the file named by
    /// <paramref name="fileVariable"/> when that is set (it wins), else from
    /// <paramref name="variable"/>; null when neither is set. Never from arguments or configuration.
    /// An empty (or null) variable name is never read: that secret is off for this client.
    /// </summary>
    public static Secret? Read(string? variable, string? fileVariable, Func<string, string?> getVariable)
    {
        if (!string.IsNullOrEmpty(fileVariable) && getVariable(fileVariable) is { Length: > 0 } file)
        {
            return new Secret(ControlPlane.Api.Auth.SecretSource.ReadFile(fileVariable, file), fileVariable);
        }
        return !string.IsNullOrEmpty(variable) && getVariable(variable) is { Length: > 0 } value ? new Secret(value.Trim(), variable) : null;
    }
}
