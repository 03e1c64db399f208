using System.Globalization;
using System.Text;
using ControlPlane.Api.V1;

namespace ControlPlane.Agents.Policy;

/// <summary>
/// The cpctl command line that puts a policy back exactly as it was: the incident-bot prints it after a
/// flip, lb-policy-agent after a delete.
/// </summary>
internal static class RestoreCommand
{
    /// <param name="image">The image whose policy is restored.</param>
    /// <param name="previous">The policy to put back; null: none, so the restore deletes.</param>
    /// <param name="reason">What the audit trail records for the restore (<c>--reason</c>).</param>
    public static string For(string image, RoutingPolicy? previous, string reason)
    {
        if (previous is null)
        {
            return $"cpctl lb-policy delete {Quote(image)} --approve";
        }
        var text = new StringBuilder($"cpctl lb-policy set {Quote(image)} --algorithm {Quote(previous.Algorithm)}");
        foreach (var (id, weight) in previous.Weights.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            text.Append(" --weight ").Append(Quote(string.Create(CultureInfo.InvariantCulture, $"{id}={weight}")));
        }
        if (previous.StickyKey.Length > 0)
        {
            text.Append(" --sticky-key ").Append(Quote(previous.StickyKey));
        }
        return text.Append(" --reason ").Append(Quote(reason)).Append(" --approve").ToString();
    }

    /// <summary>POSIX shell quoting: bare when only safe characters, else single quotes.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '=' or '/' or ':' or ',')
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
