"""GitOps layout: deploy repositories, Argo CD objects and chart values, generated from the platform spec.

* :mod:`.deploy_repo`: a project's deploy repository (Helm chart + ``envs/<env>/<service>/values.yaml``);
* :mod:`.apps_repo`: the platform's repository of Application manifests (app-of-apps source);
* :mod:`.argocd_objects`: everything one Argo CD needs for one environment (AppProjects, repository and
  cluster Secrets, Applications, the app-of-apps root);
* :mod:`.argocd_values`: values for the upstream argo-cd Helm chart;
* :mod:`.render`: writes all of it to a directory (``invoke render``).

Every generator is deterministic: the same input gives byte-identical output.
"""
