using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Health;

/// <summary>A backend process killed without deregistering: passive health ejects it; clients see no error.</summary>
[Collection(SystemCollection.Name)]
public sealed class EjectionTests(Platform platform)
{
    private const string Image = "img.eject";

    [Fact]
    public Task KilledBackend_IsEjected_WithOnlyTheRetriedRequestsAffected() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        var doomed = await BackendProcess.StartAsync("b4");
        platform.Track(doomed, doomed.Process);
        await using var _ = await platform.RegisterAsync(Image, "ej", [doomed, platform.Backends[0], platform.Backends[1]]);
        var before = await Task.WhenAll(platform.Nodes.Select(n => n.MetricsAsync()));

        await doomed.KillAsync(); // still registered: only the nodes' own observations can take it out

        for (var n = 0; n < platform.Nodes.Count; n++)
        {
            var node = platform.Nodes[n];
            var answers = await SendAsync(node, 60);
            Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status)); // GETs are retried elsewhere on a connect failure
            Assert.DoesNotContain(answers, a => a.Instance == "b4");
            var ejected = await node.MetricsAsync();
            // Affected: the requests that first went to the dead instance, each retried once, until
            // ConsecutiveFailures of them ejected it.
            var retried = Delta(before[n], ejected, $"controlplane_dataplane_retries_total{{image=\"{Image}\"}}");
            Assert.InRange(retried, 1, DataplaneNode.ConsecutiveFailures);
            Assert.Equal(1, Delta(before[n], ejected, $"controlplane_dataplane_ejections_total{{image=\"{Image}\"}}"));

            // Ejected: no request tries it any more.
            Assert.All(await SendAsync(node, 30), a => Assert.Equal(HttpStatusCode.OK, a.Status));
            Assert.Equal(retried, Delta(before[n], await node.MetricsAsync(), $"controlplane_dataplane_retries_total{{image=\"{Image}\"}}"));
        }
    });

    private static async Task<List<ProxyAnswer>> SendAsync(DataplaneNode node, int count)
    {
        var answers = new List<ProxyAnswer>(count);
        for (var i = 0; i < count; i++)
        {
            answers.Add(await node.GetAsync(Image));
        }
        return answers;
    }

    private static double Delta(string before, string after, string series) =>
        (MetricSamples.Find(after, series) ?? 0) - (MetricSamples.Find(before, series) ?? 0);
}
