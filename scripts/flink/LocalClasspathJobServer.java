// Beam's Flink job server for a Flink cluster that runs from the job
// server's own classpath (scripts/flink.sh): it ships no jar with a job.
//
// FlinkJobInvoker stages every entry of the job server's classpath with each
// job (PipelineResources.detectClassPathResourcesToStage): Flink's REST
// client uploads them to the JobManager's blob server and every TaskManager
// downloads them for the job's user-code class loader. With
// scripts/flink.sh's Maven classpath that is 161 jars, 158 MB, per job: the
// submission of a job took 16 s and its first stage 6-10 s more on this
// 2-core machine. scripts/flink.sh's JobManager and TaskManagers already
// have those jars on their own classpath (classloader.resolve-order:
// parent-first), so this job server sets the job's
// pipelineResourcesDetectorFactoryClass to NoResources: nothing is staged.
//
// It also sets the job's environment_cache_millis, unless the job sets it,
// to the system property vendorlake.environmentCacheMillis (scripts/flink.sh:
// 10000): a TaskManager keeps a job's SDK workers that long after the last
// task that used them, so that the tasks of the job's next phase (after a
// GroupByKey) reuse them. With Beam's default, 0, every phase starts its
// workers anew: a PROCESS worker fetches and copies the 180 MB vendorlake
// binary again (2-3 s a phase here). Java and Python users pass
// --environment_cache_millis; the Go SDK sends no such option (its own
// options travel as go_options), hence here.
//
// Only for such a cluster: a user's Flink (flink-dist without Beam) needs
// Beam's runner classes from the staged job server jar, as Beam does by
// default. Compiled by scripts/flink.sh (javac) against the runner's
// classpath; if it does not compile (another Beam version), flink.sh runs
// FlinkJobServerDriver as it is.

import java.util.List;
import org.apache.beam.model.pipeline.v1.RunnerApi;
import org.apache.beam.runners.flink.FlinkJobInvoker;
import org.apache.beam.runners.flink.FlinkJobServerDriver;
import org.apache.beam.runners.jobsubmission.JobInvocation;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.util.construction.resources.PipelineResourcesDetector;
import org.apache.beam.vendor.grpc.v1p60p1.com.google.protobuf.Struct;
import org.apache.beam.vendor.grpc.v1p60p1.com.google.protobuf.Value;
import org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.util.concurrent.ListeningExecutorService;

public final class LocalClasspathJobServer {
  public static void main(String[] args) throws Exception {
    // As FlinkJobServerDriver.main: the default file systems.
    FileSystems.setDefaultPipelineOptions(PipelineOptionsFactory.create());
    FlinkJobServerDriver.FlinkServerConfiguration config = FlinkJobServerDriver.parseArgs(args);
    FlinkJobServerDriver.fromConfig(config, () -> new Invoker(config)).run();
  }

  /**
   * FlinkJobInvoker with NoResources as every job's resource detector, and the
   * environment cache of vendorlake.environmentCacheMillis.
   */
  static final class Invoker extends FlinkJobInvoker {
    Invoker(FlinkJobServerDriver.FlinkServerConfiguration config) {
      super(config);
    }

    @Override
    protected JobInvocation invokeWithExecutor(
        RunnerApi.Pipeline pipeline,
        Struct options,
        String retrievalToken,
        ListeningExecutorService executorService) {
      Struct.Builder with =
          options.toBuilder()
              .putFields(
                  "beam:option:pipeline_resources_detector_factory_class:v1",
                  Value.newBuilder().setStringValue(NoResources.class.getName()).build());
      String cache = System.getProperty("vendorlake.environmentCacheMillis", "");
      String cacheKey = "beam:option:environment_cache_millis:v1";
      if (!cache.isEmpty() && !options.containsFields(cacheKey)) {
        with.putFields(
            cacheKey, Value.newBuilder().setNumberValue(Integer.parseInt(cache)).build());
      }
      return super.invokeWithExecutor(pipeline, with.build(), retrievalToken, executorService);
    }
  }

  /** A resource detector that finds nothing to stage. */
  public static final class NoResources implements PipelineResourcesDetector.Factory {
    public static NoResources create() {
      return new NoResources();
    }

    @Override
    public PipelineResourcesDetector getPipelineResourcesDetector() {
      return classLoader -> List.of();
    }
  }
}
